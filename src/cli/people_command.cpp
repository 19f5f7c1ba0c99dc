// `vigil people list|move-issuer|rebind`: people who sign in to the console through the identity
// provider (include/vigil/sessions.h), directly on the store, as the operator (audited with the OS
// user). A name stays bound to the provider's issuer and subject; these are the two ways an
// operator changes that binding: the provider moved to a new issuer URL (every person's subject
// the same), or one person's account was made again there (a new subject for the same name).
#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/store_options.h"
#include "net/http_fetch.h"
#include "util/iso_time.h"
#include "vigil/roles.h"
#include "vigil/sessions.h"

namespace vigil::cli {
namespace {

struct PeopleArgs {
  StoreFlags store;
  std::string from, to, name, issuer, subject;
};

}  // namespace

Action RegisterPeopleCommand(CLI::App& app) {
  auto args = std::make_shared<PeopleArgs>();
  CLI::App* people = app.add_subcommand("people", "People who sign in through the identity provider: list, move issuer, rebind");
  people->require_subcommand(1);
  people->fallthrough();
  AddStoreFlags(*people, args->store);
  CLI::App* list = people->add_subcommand("list", "Every person who has signed in, as JSON lines (name, issuer, subject, roles)");
  CLI::App* move = people->add_subcommand(
      "move-issuer", "The provider moved to a new issuer URL ([sso] issuer changed): bind everyone of the old one to the new");
  move->add_option("--from", args->from, "The old issuer, exactly as people were bound to it (see `people list`)")->required();
  move->add_option("--to", args->to, "The new issuer, exactly as [sso] issuer says")->required();
  CLI::App* rebind = people->add_subcommand(
      "rebind", "Bind a person's name to another subject (their account at the provider was made again); ends their sessions");
  rebind->add_option("--name", args->name, "The person's Vigil name")->required();
  rebind->add_option("--subject", args->subject, "Their new subject (the ID token's sub)")->required();
  rebind->add_option("--issuer", args->issuer, "The issuer (default: the one they are bound to)");
  return [=]() -> int {
    if (!people->parsed()) return -1;
    auto store = OpenStoreOrReport(args->store, "people");
    if (!store) return 1;
    auto& sessions = store->Sessions();
    if (list->parsed()) {
      auto all = sessions.ListPeople();
      if (!all) return ReportError("people list", all.error());
      for (const auto& p : *all) {
        boost::json::array roles;
        for (const auto& r : SplitRoles(p.roles)) roles.emplace_back(r);
        std::cout << boost::json::serialize(boost::json::object{{"name", p.name},
                                                                {"display_name", p.display_name},
                                                                {"issuer", p.issuer},
                                                                {"subject", p.subject},
                                                                {"roles", std::move(roles)},
                                                                {"last_seen", IsoTime(p.last_seen)}})
                  << "\n";
      }
      return 0;
    }
    if (move->parsed()) {
      // The new issuer is what [sso] issuer will say: a URL the service accepts there.
      if (auto url = net::ParseHttpUrl(args->to); !url) {
        return ReportError("people move-issuer", {ErrorCode::kInvalidArgument, "--to: " + url.error().message});
      }
      auto moved = sessions.MoveIssuer(args->from, args->to, OperatorActor());
      if (!moved) return ReportError("people move-issuer", moved.error());
      if (*moved == 0) {
        return ReportError("people move-issuer", {ErrorCode::kNotFound, "nobody is bound to --from '" + args->from +
                                                                            "' (the issuers people have: vigil people list)"});
      }
      std::cerr << "people move-issuer: " << *moved << " people now bound to " << args->to << "\n";
      return 0;
    }
    std::string issuer = args->issuer;
    if (issuer.empty()) {
      auto person = sessions.GetPerson(args->name);
      if (!person) return ReportError("people rebind", person.error());
      issuer = person->issuer;
    }
    if (auto rebound = sessions.Rebind(args->name, issuer, args->subject, OperatorActor()); !rebound) {
      return ReportError("people rebind", rebound.error());
    }
    std::cerr << "people rebind: '" << args->name << "' is now subject " << args->subject << " of " << issuer << "\n";
    return 0;
  };
}

}  // namespace vigil::cli
