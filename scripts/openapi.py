#!/usr/bin/env python3
# Writes docs/openapi.json, the OpenAPI 3 description of the HTTP API. Edit the routes here, run
# `python3 scripts/openapi.py`, and commit both; tests/server_test.cpp checks the document against
# the server's routes and roles. (A developer tool: builds and CI only read the JSON.)
import json
S = lambda **kw: kw
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def err(desc): return {"description": desc, "content": {"application/json": {"schema": ref("Error")}}}
def ok(desc, schema, code="200", ctype="application/json"):
    return {code: {"description": desc, "content": {ctype: {"schema": schema}}}}
def op(opid, summary, roles, responses, desc=None, params=None, body=None, errors=()):
    o = {"operationId": opid, "summary": summary, "x-vigil-roles": roles}
    if desc: o["description"] = desc
    if roles:
        o["security"] = [{"bearer": []}]
    else:
        o["security"] = []
    if params: o["parameters"] = params
    if body: o["requestBody"] = body
    r = dict(responses)
    codes = {"400": "Bad input (malformed JSON, bad hex, unknown signal type, bad query parameter)",
             "401": "No key, a malformed Authorization header, or an unknown or revoked key",
             "403": "The key's role may not call this route",
             "404": "No such bank, content or key",
             "409": "Already exists",
             "413": "Body larger than the limit (checked from Content-Length before reading)",
             "415": "Wrong Content-Type, or media in a format Vigil does not decode",
             "429": "Rate limit of this key exceeded (Retry-After says when to try again)",
             "503": "Not ready, or the database is unreachable"}
    want = list(errors)
    if roles: want += ["401", "403", "429"]
    for c in sorted(set(want)):
        r[c] = err(codes[c])
    o["responses"] = r
    return o
path_name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}, "description": "Bank name"}
def q(name, desc, schema, required=False):
    return {"name": name, "in": "query", "required": required, "description": desc, "schema": schema}
json_body = lambda schema, desc=None: {"required": True, "content": {"application/json": {"schema": schema}}, **({"description": desc} if desc else {})}
media_body = {"required": True, "description": "The media bytes: an image (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC/AVIF) or a video (MP4/MOV, Matroska/WebM, AVI, FLV, MPEG-TS/PS, Ogg; H.264, HEVC, VP8, VP9, AV1, MPEG-4, MPEG-2, Theora). The format is sniffed from the bytes.",
              "content": {"image/*": {"schema": {"type": "string", "format": "binary"}},
                          "video/*": {"schema": {"type": "string", "format": "binary"}},
                          "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
sub, review, badmin, auditor, admin = "submitter", "reviewer", "bank-admin", "auditor", "admin"
hex_ = lambda n: {"type": "string", "pattern": f"^[0-9a-f]{{{n}}}$"}
time_ = {"type": "string", "format": "date-time"}
schemas = {
  "Error": S(type="object", required=["error"], properties={"error": S(type="object", required=["code", "message"], properties={
      "code": S(type="string", description="invalid_argument, unauthenticated, permission_denied, not_found, already_exists, too_large, unsupported, rate_limited, method_not_allowed, timeout, unavailable, internal"),
      "message": S(type="string", description="What was wrong, for a person")})}),
  "Hashes": S(type="object", description="Signal type -> value (lower-case hex). Images: pdq, md5, sha1, sha256. Videos: md5, sha1, sha256 of the file and vpdq, the SHA-256 of the frame list (its identity)", properties={"pdq": hex_(64), "md5": hex_(32), "sha1": hex_(40), "sha256": hex_(64), "vpdq": hex_(64)}),
  "VpdqFrame": S(type="object", properties={"frame": S(type="integer"), "quality": S(type="integer"), "pdq": hex_(64), "timestamp": S(type="number")}),
  "HashResult": S(type="object", properties={"media_type": S(type="string"), "width": S(type="integer"), "height": S(type="integer"),
      "byte_size": S(type="integer"), "hashes": ref("Hashes"), "pdq_quality": S(type="integer", minimum=0, maximum=100, nullable=True),
      "duration": S(type="number", description="Videos: seconds"), "frame_rate": S(type="number"), "vpdq": S(type="array", items=ref("VpdqFrame"), description="Videos: the hashed frames (one a second by default)")}),
  "Signal": S(type="object", required=["type", "value"], properties={"type": S(type="string", enum=["pdq", "md5", "sha1", "sha256", "vpdq"]),
      "value": S(type="string", description="Hex; upper case is accepted and normalised. For vpdq: the video's vPDQ output in the reference's format (frame,quality,pdq_hex,timestamp lines)"),
      "quality": S(type="integer", minimum=0, maximum=100, nullable=True, description="PDQ quality of the query; a bank's pdq_min_quality applies when given")}),
  "LookupRequest": S(type="object", required=["signals"], properties={"signals": S(type="array", maxItems=1000, items=ref("Signal"))}),
  "LookupMatch": S(type="object", properties={"bank": S(type="string"), "entry_id": S(type="integer"), "distance": S(type="integer"),
      "entry_value": S(type="string"), "source": S(type="string"), "member": S(type="string"), "external_id": S(type="string"), "classification": S(type="string"),
      "query_match_percent": S(type="number", description="vpdq: share of the query's frames with a close listed frame"),
      "compared_match_percent": S(type="number", description="vpdq: share of the listed video's frames with a close query frame")}),
  "LookupResponse": S(type="object", properties={"results": S(type="array", description="One per signal, in request order", items=S(type="object", properties={
      "type": S(type="string"), "value": S(type="string"), "matches": S(type="array", items=ref("LookupMatch"), description="Nearest first")}))}),
  "Match": S(type="object", properties={"bank": S(type="string"), "entry_id": S(type="integer"), "signal_type": S(type="string"),
      "entry_value": S(type="string"), "distance": S(type="integer"), "quality": S(type="integer", nullable=True), "source": S(type="string"),
      "member": S(type="string"), "external_id": S(type="string"), "classification": S(type="string"), "matched_at": time_,
      "query_match_percent": S(type="number", description="vpdq matches"), "compared_match_percent": S(type="number", description="vpdq matches"),
      "measure": S(type="string", description="Set when an extra hash of the upload matched, not its own: dihedral:<variant> or trimmed")}),
  "Content": S(type="object", properties={"content_id": S(type="string"), "user_id": S(type="string"), "media_type": S(type="string"),
      "byte_size": S(type="integer"), "hashes": ref("Hashes"), "pdq_quality": S(type="integer", nullable=True), "submitted_at": time_,
      "metadata": S(type="object", description="The caller's metadata, as given"), "matches": S(type="array", items=ref("Match")),
      "vpdq": S(type="string", description="Videos: the frame list in the reference's text format"),
      "policy": S(type="object", description="What the policy did when the upload was recorded (when it matched): evaluated, rules, block, hold, priority, queue_report, account_action, notify, category, case_id; a retry gets the same"),
      "state": S(type="string", enum=["visible", "blocked", "removed", "restored"], description="GET only: the upload's state now")}),
  "Bank": S(type="object", properties={"name": S(type="string"), "description": S(type="string"), "labels": S(type="array", items=S(type="string")),
      "enabled": S(type="boolean"), "pdq_max_distance": S(type="integer", description="A PDQ entry matches at distance <= this (default 31)"),
      "pdq_min_quality": S(type="integer", description="PDQ queries below this quality do not match (default 50)"),
      "match_dihedral": S(type="boolean", description="Also match uploads' 8 rotations/flips (docs/evaluation.md)"),
      "match_trimmed": S(type="boolean", description="Also match uploads' content inside detected borders (docs/evaluation.md)"),
      "live_entries": S(type="integer"), "created_at": time_, "updated_at": time_, "sync_checkpoint": S(type="string", nullable=True)}),
  "BankFields": S(type="object", additionalProperties=False, properties={"description": S(type="string", maxLength=4096),
      "labels": S(type="array", maxItems=64, items=S(type="string", minLength=1, maxLength=64)), "enabled": S(type="boolean"),
      "pdq_max_distance": S(type="integer", minimum=0, maximum=256), "pdq_min_quality": S(type="integer", minimum=0, maximum=100),
      "match_dihedral": S(type="boolean"), "match_trimmed": S(type="boolean")}),
  "BankCreate": {"allOf": [ref("BankFields"), S(type="object", required=["name"], properties={"name": S(type="string", pattern="^[a-z0-9][a-z0-9_-]{0,63}$")})]},
  "Entry": S(type="object", properties={"id": S(type="integer"), "signal_type": S(type="string"), "value": S(type="string"), "source": S(type="string"),
      "member": S(type="string"), "external_id": S(type="string"), "classification": S(type="string"), "added_at": time_, "removed_at": {**time_, "nullable": True},
      "frames": S(type="integer", description="vpdq entries: how many frames (export them from .../entries/{id}/vpdq)")}),
  "ImportResult": S(type="object", properties={"import_id": S(type="integer"), "added": S(type="integer"), "removed": S(type="integer"),
      "relabelled": S(type="integer"), "unchanged": S(type="integer"), "skipped": S(type="integer", description="Records of signal types this build does not match"),
      "overridden": S(type="integer", description="Adds left out: values this platform disabled (local overrides)"),
      "checkpoint": S(type="string", nullable=True)}),
  "ImportLogRecord": S(type="object", properties={"id": S(type="integer"), "format": S(type="string"), "source": S(type="string"), "actor": S(type="string"),
      "status": S(type="string", enum=["applied", "rejected"]), "error": S(type="string"), "added": S(type="integer"), "removed": S(type="integer"),
      "unchanged": S(type="integer"), "started_at": time_, "checkpoint": S(type="string", nullable=True)}),
  "Key": S(type="object", properties={"name": S(type="string"), "role": S(type="string"), "prefix": S(type="string", description="First characters of the key, to tell keys apart (empty while pending)"),
      "status": S(type="string", enum=["active", "pending", "expired"], description="pending: a custodian, legal or admin key waiting for a second admin's approval; it authenticates nothing"),
      "created_at": time_, "created_by": S(type="string", description="The admin key that minted or requested it, or cli:<os user> on the host"),
      "approved_by": S(type="string", nullable=True), "approved_at": {**time_, "nullable": True}, "expires_at": {**time_, "description": "Pending keys only: when the request lapses"},
      "revoked_at": {**time_, "nullable": True}}),
  "NewKey": S(type="object", properties={"name": S(type="string"), "role": S(type="string"), "prefix": S(type="string"), "status": S(type="string", enum=["active"]), "key": S(type="string", description="The secret, shown once")}),
  "AuditRecord": S(type="object", properties={"id": S(type="integer"), "at": time_, "actor": S(type="string"), "action": S(type="string"), "target": S(type="string"), "detail": S(type="string")}),
}
paths = {
 "/healthz": {"get": op("healthz", "Liveness: the process answers", [], ok("Alive", S(type="object", properties={"status": S(type="string")})))},
 "/readyz": {"get": op("readyz", "Readiness: the index is loaded and the database answers", [],
     ok("Ready", S(type="object", properties={"status": S(type="string"), "store": S(type="string"), "banks": S(type="integer"), "pdq_entries": S(type="integer")})), errors=["503"])},
 "/metrics": {"get": op("metrics", "Prometheus metrics (text format 0.0.4); it names banks and counts, so it needs an auditor or admin key", [auditor, admin], ok("Metrics", S(type="string"), ctype="text/plain"),
     desc="vigil_http_requests_total{route,method,status}, vigil_http_request_duration_seconds{route} (histogram), vigil_matches_total{bank,signal_type}, vigil_index_entries{signal_type}, vigil_imports_total{bank,outcome}, vigil_import_entries_total{bank,change}, vigil_lookup_signals_total.")},
 "/openapi.json": {"get": op("openapi", "This document", [], ok("OpenAPI 3 document", S(type="object")))},
 "/v1/hash": {"post": op("hashMedia", "Hash media: PDQ (with quality), MD5, SHA-1, SHA-256", [sub], ok("Hashes", ref("HashResult")), body=media_body,
     errors=["400", "413", "415"], desc="Nothing is stored. Decoding is bounded by the server's pixel and dimension limits; truncated or corrupt media is a 400.")},
 "/v1/lookup": {"post": op("lookup", "Match up to 1000 signals against every enabled bank", [sub], ok("One result per signal", ref("LookupResponse")),
     body=json_body(ref("LookupRequest")), errors=["400", "413", "415"],
     desc="PDQ signals match entries within each bank's pdq_max_distance (when quality is given, only if it is >= the bank's pdq_min_quality); MD5/SHA-1/SHA-256 match exactly. Nothing is stored.")},
 "/v1/content": {"post": op("submitContent", "Submit an upload: hash it, match it against every enabled bank, store the record and its matches", [sub],
     ok("The stored record with its matches", ref("Content"), code="201"), body=media_body,
     params=[q("content_id", "The platform's id for the upload (1-256 characters); unique", S(type="string", minLength=1, maxLength=256), True),
             q("user_id", "The uploading user's id on the platform", S(type="string", maxLength=256))] +
            [{"name": "X-Vigil-Metadata", "in": "header", "required": False, "description": "A JSON object stored with the record (e.g. {\"ip\": \"...\", \"surface\": \"dm\"}); at most the header size limit", "schema": S(type="string")}],
     errors=["400", "409", "413", "415"], desc="When the upload matches and policy rules are loaded, the response carries `policy`: the rules that fired, the automatic actions and the case it opened or joined.")},
 "/v1/content/{content_id}": {"get": op("getContent", "A stored upload with its hashes and matches", [sub, review, auditor], ok("The record", ref("Content")),
     params=[{"name": "content_id", "in": "path", "required": True, "schema": S(type="string")}], errors=["404"])},
 "/v1/banks": {
   "get": op("listBanks", "Every live bank", [badmin, auditor], ok("Banks", S(type="object", properties={"banks": S(type="array", items=ref("Bank"))}))),
   "post": op("createBank", "Create a bank", [badmin], ok("Created", ref("Bank"), code="201"), body=json_body(ref("BankCreate")), errors=["400", "409", "415"])},
 "/v1/banks/{name}": {
   "get": op("getBank", "One bank", [badmin, auditor], ok("The bank", ref("Bank")), params=[path_name], errors=["404"]),
   "patch": op("updateBank", "Change a bank's description, labels, enabled flag or PDQ thresholds", [badmin], ok("The updated bank", ref("Bank")),
       params=[path_name], body=json_body(ref("BankFields")), errors=["400", "404", "415"]),
   "delete": op("deleteBank", "Delete a bank (soft: it and its entries stop matching; rows stay for audit)", [badmin],
       {"204": {"description": "Deleted"}}, params=[path_name], errors=["404"])},
 "/v1/banks/{name}/import": {"post": op("importList", "Import a hash list into the bank, in one transaction", [badmin], ok("What changed", ref("ImportResult")),
     params=[path_name, q("format", "csv (signal_type,value[,external_id,classification]), text (one value per line), hma (HMA bank export CSV), ncmec (NCMEC hash-sharing v2 XML), stopncii (StopNCII hash records JSON), vpdq (one video's vPDQ output: one entry)", S(type="string", enum=["csv", "text", "hma", "ncmec", "stopncii", "vpdq"], default="csv")),
             q("external_id", "For format=vpdq: the entry's external id", S(type="string", maxLength=256)),
             q("classification", "For format=vpdq: the entry's classification", S(type="string", maxLength=64)),
             q("signal_type", "For format=text: the signal type of every line", S(type="string", default="pdq")),
             q("source", "The list's name, kept as each entry's provenance", S(type="string", maxLength=256)),
             q("checkpoint", "A sync checkpoint stored on the bank when the import commits (overrides one the list carries)", S(type="string", maxLength=256))],
     body={"required": True, "description": "The list file", "content": {"*/*": {"schema": S(type="string", format="binary")}}},
     errors=["400", "404", "413"], desc="Idempotent: re-importing a list adds nothing. A list with a bad line changes nothing, and the error names the line; the rejection is in the import log. Tombstones (NCMEC deletedImage/deletedVideo, StopNCII withdrawals) stop the entries matching.")},
 "/v1/banks/{name}/entries": {"get": op("listEntries", "Page through a bank's entries in id order", [badmin, auditor],
     ok("A page", S(type="object", properties={"entries": S(type="array", items=ref("Entry")), "next_after": S(type="integer", nullable=True, description="Pass as after= for the next page; null on the last")})),
     params=[path_name, q("after", "Entries with id > this", S(type="integer", minimum=0, default=0)), q("limit", "Page size", S(type="integer", minimum=1, maximum=10000, default=1000)),
             q("include_removed", "Include tombstoned entries", S(type="boolean", default=False))], errors=["400", "404"])},
 "/v1/banks/{name}/entries/{entry_id}/vpdq": {"get": op("exportVpdq", "A vpdq entry's frames in the reference's text format", [badmin, auditor],
     ok("vPDQ text", S(type="string"), ctype="text/plain"), params=[path_name, {"name": "entry_id", "in": "path", "required": True, "schema": S(type="integer")}], errors=["400", "404"])},
 "/v1/banks/{name}/imports": {"get": op("listImports", "The bank's import log, applied and rejected", [badmin, auditor],
     ok("Import log", S(type="object", properties={"imports": S(type="array", items=ref("ImportLogRecord"))})), params=[path_name], errors=["404"])},
 "/v1/banks/{name}/export": {"get": op("exportBank", "The bank's live entries as plain CSV (signal_type,value,external_id,classification)", [badmin, auditor],
     ok("CSV", S(type="string"), ctype="text/csv"), params=[path_name], errors=["404"])},
 "/v1/keys": {
   "get": op("listKeys", "Every API key (never its secret)", [admin], ok("Keys", S(type="object", properties={"keys": S(type="array", items=ref("Key"))}))),
   "post": op("createKey", "Create an API key; the secret is in the response, once. A custodian, legal or admin key is only requested (202, no secret): a second admin approves it", [admin],
       {**ok("Created", ref("NewKey"), code="201"), **ok("Requested: pending a second admin's approval (POST /v1/keys/{name}/approve) within 24 hours", ref("Key"), code="202")},
       body=json_body(S(type="object", required=["name", "role"], properties={"name": S(type="string", pattern="^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", description="Who or what uses the key; stored lower-case; never reused, even after revocation"), "role": S(type="string", enum=[sub, review, badmin, auditor, admin, "legal", "custodian"])})), errors=["400", "409", "415"])},
 "/v1/keys/{name}": {"delete": op("revokeKey", "Revoke a key (effective at once on this server, within seconds on others)", [admin], {"204": {"description": "Revoked"}},
     params=[{"name": "name", "in": "path", "required": True, "schema": S(type="string")}], errors=["404"])},
 "/v1/keys/{name}/approve": {"post": op("approveKey", "Approve a pending custodian, legal or admin key requested by another admin; the secret is in the response, once", [admin],
     ok("Approved", S(type="object", properties={"name": S(type="string"), "role": S(type="string"), "prefix": S(type="string"), "status": S(type="string", enum=["active"]),
        "created_by": S(type="string"), "approved_by": S(type="string"), "key": S(type="string", description="The secret, shown once")})),
     params=[{"name": "name", "in": "path", "required": True, "schema": S(type="string")}], errors=["404", "409"])},
 "/v1/audit": {"get": op("listAudit", "The newest audit records", [auditor, admin], ok("Audit records", S(type="object", properties={"audit": S(type="array", items=ref("AuditRecord"))})),
     params=[q("limit", "How many", S(type="integer", minimum=1, maximum=10000, default=100))], errors=["400"])},
}
# ---- the workflow (docs/workflow.md)
review, cases_read, accounts_read = [review], [review, auditor, admin], [sub, review, auditor, admin]
id_param = lambda name="id": {"name": name, "in": "path", "required": True, "schema": S(type="integer")}
schemas.update({
  "Decision": S(type="object", properties={"id": S(type="integer"), "reviewer": S(type="string"), "verdict": S(type="string", enum=["violating", "not_violating", "escalate"]),
      "classification": S(type="string"), "reason": S(type="string"), "viewed": S(type="array", items=S(type="string"), description="Content ids the reviewer revealed unblurred before deciding"),
      "second_review": S(type="boolean"), "decided_at": time_}),
  "CaseItem": S(type="object", properties={"content_id": S(type="string"), "media_type": S(type="string"), "state": S(type="string", enum=["visible", "blocked", "removed", "restored"]),
      "submitted_at": time_, "has_media": S(type="boolean"), "matches": S(type="array", items=ref("Match"))}),
  "Report": S(type="object", properties={"id": S(type="integer"), "case_id": S(type="integer"), "user_id": S(type="string"),
      "state": S(type="string", enum=["draft", "approved", "open", "filed", "retracted", "failed", "voided"]),
      "withdraw_reason": S(type="string", description="Why the report was voided or is to be retracted (its case changed); on a filed report, a follow-up for the legal team"),
      "in_flight": S(type="string", description="The request sent and not yet answered, if any"),
      "ncmec_report_id": S(type="string"), "created_by": S(type="string"), "approved_by": S(type="string"), "approved_at": {**time_, "nullable": True}, "filed_at": {**time_, "nullable": True},
      "attempts": S(type="integer"), "last_code": S(type="integer", description="NCMEC's last responseCode (-1: none)"), "last_error": S(type="string"), "last_request_id": S(type="string"),
      "files": S(type="array", items=S(type="object", properties={"content_id": S(type="string"), "sha256": hex_(64), "state": S(type="string", enum=["pending", "uploaded", "described"]), "ncmec_file_id": S(type="string")}))}),
  "Evidence": S(type="object", properties={"id": S(type="integer"), "kind": S(type="string", enum=["media", "context", "report"]), "media_type": S(type="string"), "size": S(type="integer"),
      "sha256": hex_(64), "case_id": S(type="integer"), "report_id": S(type="integer"), "content_id": S(type="string"), "preserved_at": time_, "hold_until": time_, "purged_at": {**time_, "nullable": True}}),
  "LegalRequest": S(type="object", properties={"id": S(type="integer"), "type": S(type="string"), "agency": S(type="string"), "case_number": S(type="string"), "received_at": time_,
      "due_at": {**time_, "nullable": True}, "scope": S(type="string"), "status": S(type="string", enum=["open", "produced", "closed"]), "cases": S(type="array", items=S(type="integer")),
      "created_by": S(type="string"), "produced_at": {**time_, "nullable": True}, "produced_by": S(type="string"), "package_sha256": S(type="string")}),
  "Case": S(type="object", properties={"id": S(type="integer"), "user_id": S(type="string"), "status": S(type="string", enum=["open", "in_review", "escalated", "decided", "closed"]),
      "priority": S(type="integer", minimum=0, maximum=3, description="P0 is the most urgent, P3 the least; it sets the queue order and the review SLA"), "sla_due": time_, "assigned_to": S(type="string"), "lease_until": {**time_, "nullable": True},
      "second_review_required": S(type="boolean"), "report_queued": S(type="boolean"), "rules": S(type="array", items=S(type="string")),
      "items": S(type="array", items=ref("CaseItem")), "decisions": S(type="array", items=ref("Decision")),
      "user": S(type="object", description="GET /v1/cases/{id}: the user's account state, prior confirmed cases and actions")}),
  "Action": S(type="object", properties={"id": S(type="integer"), "user_id": S(type="string"), "content_id": S(type="string"),
      "kind": S(type="string", enum=["block_content", "remove_content", "restore_content", "restrict_account", "suspend_account", "ban_account", "restore_account"]),
      "until": {**time_, "nullable": True}, "statement_of_reasons": S(type="object", description="EU DSA Art. 17: ground, facts, automated, redress",
          properties={"ground": S(type="string"), "facts": S(type="string"), "automated": S(type="boolean"), "redress": S(type="string")}),
      "actor": S(type="string"), "case_id": S(type="integer"), "created_at": time_, "notified_at": {**time_, "nullable": True}}),
  "Appeal": S(type="object", properties={"id": S(type="integer"), "action_id": S(type="integer"), "user_id": S(type="string"), "statement": S(type="string"),
      "status": S(type="string", enum=["open", "in_review", "upheld", "overturned"]), "assigned_to": S(type="string"), "original_decider": S(type="string"),
      "decided_by": S(type="string"), "reason": S(type="string"), "created_at": time_, "sla_due": time_, "decided_at": {**time_, "nullable": True}}),
})
paths.update({
 "/v1/audit/verify": {"get": op("verifyAudit", "Verify the hash-chained audit log", [auditor, admin],
     ok("Verification", S(type="object", properties={"records": S(type="integer"), "ok": S(type="boolean"), "problems": S(type="array", items=S(type="string"))})))},
 "/v1/cases": {"get": op("listCases", "The review queue (open, in review, escalated by default), priority then SLA", cases_read,
     ok("Cases", S(type="object", properties={"cases": S(type="array", items=ref("Case"))})), params=[q("status", "open, in_review, escalated, decided or closed", S(type="string")), q("limit", "How many", S(type="integer", minimum=1, maximum=1000))], errors=["400"])},
 "/v1/cases/{id}": {"get": op("getCase", "A case with its items, matches (provenance), decisions and the user's history", cases_read, ok("Case", ref("Case")), params=[id_param()], errors=["400", "404"])},
 "/v1/cases/{id}/claim": {"post": op("claimCase", "Claim a case for review (a lease; 409 while another reviewer holds it)", review, ok("Case", ref("Case")), params=[id_param()], errors=["400", "404", "409"])},
 "/v1/cases/{id}/views": {"post": op("recordView", "Record that the claiming reviewer revealed an item unblurred", review, {"204": {"description": "Recorded"}},
     params=[id_param()], body=json_body(S(type="object", required=["content_id"], properties={"content_id": S(type="string")})), errors=["400", "404", "415"])},
 "/v1/cases/{id}/media/{content_id}": {"get": op("caseMedia", "An item's media: a blurred grayscale preview by default; ?variant=original (recorded as a view) for the claimant", review,
     ok("Media", S(type="string", format="binary"), ctype="image/jpeg"), params=[id_param(), {"name": "content_id", "in": "path", "required": True, "schema": S(type="string")}, q("variant", "preview or original", S(type="string", enum=["preview", "original"]))], errors=["400", "404"])},
 "/v1/cases/{id}/decision": {"post": op("decideCase", "Decide a claimed case: violating (content removed, account action), not violating (automation undone) or escalate; cases needing a second review wait for a different reviewer", review,
     ok("Case", ref("Case")), params=[id_param()], body=json_body(S(type="object", required=["verdict", "reason"], additionalProperties=False, properties={
        "verdict": S(type="string", enum=["violating", "not_violating", "escalate"]),
        "category": S(type="string", description="Violating: the category of violation (a taxonomy id; default: the case's)"),
        "classification": S(type="string", description="The case's label, normalised (\"b1 \" -> B1) and checked against the category's labels"),
        "file_classifications": S(type="object", additionalProperties=S(type="string"), description="content id -> label, for files labelled apart from the case"),
        "reason": S(type="string", description="The reviewer's note: staff only, never shown to the user"),
        "user_statement": S(type="string", maxLength=2000, description="Optional words for the user, added to the statement of reasons"),
        "account_action": S(type="string", enum=["", "restrict", "suspend", "ban"]), "account_days": S(type="integer", minimum=1, maximum=36500)})), errors=["400", "404", "415"])},
 "/v1/cases/{id}/classification": {"post": op("reclassifyCase", "Correct a decided case's labels before it is reported (a report refused for a label, say); an unsent draft is voided and drafted again", ["reviewer", "legal"],
     ok("Case", ref("Case")), params=[id_param()], body=json_body(S(type="object", additionalProperties=False, properties={
        "classification": S(type="string"), "file_classifications": S(type="object", additionalProperties=S(type="string"))})), errors=["400", "404", "415"])},
 "/v1/accounts/{user_id}": {"get": op("getAccount", "An account's state and every action on it, with statements of reasons", accounts_read,
     ok("Account", S(type="object", properties={"user_id": S(type="string"), "state": S(type="string", enum=["active", "restricted", "suspended", "banned"]), "until": {**time_, "nullable": True}, "actions": S(type="array", items=ref("Action"))})),
     params=[{"name": "user_id", "in": "path", "required": True, "schema": S(type="string")}])},
 "/v1/actions/{id}/notified": {"post": op("markNotified", "The platform confirms it sent the user the action's statement of reasons", [sub], {"204": {"description": "Recorded"}}, params=[id_param()], errors=["400", "404"])},
 "/v1/appeals": {
   "post": op("fileAppeal", "File a user's appeal of an action (through the platform)", [sub], ok("Appeal", ref("Appeal"), code="201"),
       body=json_body(S(type="object", required=["action_id"], properties={"action_id": S(type="integer"), "statement": S(type="string", maxLength=8000)})), errors=["400", "404", "409", "415"]),
   "get": op("listAppeals", "Appeals (open and in review by default)", cases_read, ok("Appeals", S(type="object", properties={"appeals": S(type="array", items=ref("Appeal"))})),
       params=[q("status", "open, in_review, upheld, overturned or partial", S(type="string"))], errors=["400"])},
 "/v1/appeals/{id}": {"get": op("getAppeal", "One appeal", cases_read, ok("Appeal", ref("Appeal")), params=[id_param()], errors=["400", "404"])},
 "/v1/appeals/{id}/claim": {"post": op("claimAppeal", "Claim an appeal (403 for the reviewer who made the decision appealed)", review, ok("Appeal", ref("Appeal")), params=[id_param()], errors=["400", "404", "409"])},
 "/v1/appeals/{id}/decision": {"post": op("decideAppeal", "Uphold, overturn (every action of the decision reversed: content and account) or partial (the actions in `undo`); the case's CyberTipline reports follow", review, ok("Appeal", ref("Appeal")), params=[id_param()],
     body=json_body(S(type="object", required=["outcome", "reason"], additionalProperties=False, properties={"outcome": S(type="string", enum=["upheld", "overturned", "partial"]),
        "undo": S(type="array", items=S(type="integer"), description="partial: the action ids to reverse"), "reason": S(type="string", description="staff only"),
        "user_statement": S(type="string", maxLength=2000)})), errors=["400", "404", "415"])},
 "/v1/reviewers": {"get": op("reviewerStats", "Per reviewer: decisions, appealed, overturned and the overturn rate", [auditor, admin],
     ok("Reviewers", S(type="object", properties={"reviewers": S(type="array", items=S(type="object"))})))},
 "/v1/entries/{id}/disable": {"post": op("disableEntry", "A rejected match: stop matching this bank entry here, and record feedback for the list owner", review, {"204": {"description": "Disabled"}},
     params=[id_param()], body=json_body(S(type="object", required=["reason"], properties={"reason": S(type="string")})), errors=["400", "404", "415"])},
 "/v1/feedback": {"get": op("listFeedback", "False-positive feedback on list entries (JSON, or ?format=csv to share with list owners)", [badmin, auditor, admin],
     ok("Feedback", S(type="object", properties={"feedback": S(type="array", items=S(type="object"))})), params=[q("format", "json or csv", S(type="string"))])},
 "/v1/overrides": {"get": op("listOverrides", "Local overrides: list values reviewers disabled, which re-imports of their lists leave out", [badmin, "reviewer", auditor, admin],
     ok("Overrides", S(type="object", properties={"overrides": S(type="array", items=S(type="object"))})),
     params=[q("bank", "Only this bank", S(type="string")), q("revoked", "true: include revoked ones", S(type="string"))])},
 "/v1/overrides/{id}": {"delete": op("revokeOverride", "End an override: the value is added back to its bank with the list's latest provenance", [badmin],
     ok("Override", S(type="object")), params=[id_param()], errors=["400", "404"])},
 "/v1/rules": {"get": op("getRules", "The policy rules in force", ["reviewer", badmin, auditor, admin], ok("Rules", S(type="object", properties={"rules": S(type="array", items=S(type="object"))})))},
 "/v1/rules/reload": {"post": op("reloadRules", "Reload the rules file (the old rules stay when the new file is refused)", [admin], ok("Rules", S(type="object")), errors=["400"])},
 "/v1/reports": {
   "get": op("listReports", "CyberTipline reports, newest first, with the state of each step", ["legal", auditor, admin],
       ok("Reports", S(type="object", properties={"reports": S(type="array", items=ref("Report"))})),
       params=[q("state", "draft, approved, open, filed, retracted, failed or voided", S(type="string"))], errors=["400", "503"]),
   "post": op("draftReport", "Build and validate the report of a case decided violating (one per user per incident)", ["legal"],
       ok("Draft", ref("Report"), code="201"), body=json_body(S(type="object", required=["case_id"], properties={"case_id": S(type="integer")})),
       errors=["400", "404", "409", "415", "503"])},
 "/v1/reports/{id}": {"get": op("getReport", "One report", ["legal", auditor, admin], ok("Report", ref("Report")), params=[id_param()], errors=["400", "404"])},
 "/v1/reports/{id}/preview": {"get": op("previewReport", "The report exactly as it would be sent: the <report> document and each file's <fileDetails>, and what would stop it (?format=xml: the document alone)", ["legal", auditor, admin],
     ok("Preview", S(type="object", properties={"report_id": S(type="integer"), "report_xml": S(type="string"), "files": S(type="array", items=S(type="object")), "problem": S(type="string")})),
     params=[id_param(), q("format", "json (default) or xml", S(type="string"))], errors=["400", "404", "503"])},
 "/v1/reports/{id}/approve": {"post": op("approveReport", "A person approves the draft (required before NCMEC's irreversible finish)", ["legal"],
     ok("Report", ref("Report")), params=[id_param()], errors=["400", "404", "503"])},
 "/v1/reports/{id}/file": {"post": op("fileReport", "Submit, upload and describe each file, finish; resumes where the last attempt stopped. 200 when filed (or settled), 202 when it stopped on the way: the report says why",
     ["legal"], {**ok("Settled", ref("Report")), **ok("Stopped on the way", ref("Report"), code="202")}, params=[id_param()], errors=["400", "404", "503"])},
 "/v1/reports/{id}/retract": {"post": op("retractReport", "Withdraw a report that is not filed yet", ["legal"], ok("Report", ref("Report")), params=[id_param()],
     body=json_body(S(type="object", required=["reason"], properties={"reason": S(type="string")})), errors=["400", "404", "415", "503"])},
 "/v1/evidence": {"get": op("listEvidence", "Preserved items (of one case, or every item not purged)", ["custodian", "legal", auditor],
     ok("Evidence", S(type="object", properties={"evidence": S(type="array", items=ref("Evidence"))})),
     params=[q("case_id", "Only this case", S(type="integer", minimum=0))], errors=["400"])},
 "/v1/evidence/{id}/content": {"get": op("readEvidence", "The decrypted bytes of a preserved item. Custodians only: any other role gets 403 and the attempt is in the audit log", ["custodian", "reviewer", "legal", auditor, admin],
     ok("The bytes", S(type="string", format="binary"), ctype="application/octet-stream"), params=[id_param()], errors=["400", "404", "503"])},
 "/v1/evidence/holds": {"post": op("holdEvidence", "Keep every item of a case until a date (legal hold); holds only extend", ["custodian", "legal"],
     ok("Held", S(type="object", properties={"case_id": S(type="integer"), "items": S(type="integer"), "until": time_})),
     body=json_body(S(type="object", required=["case_id", "until", "reason"], properties={"case_id": S(type="integer"), "until": S(type="string", format="date"), "reason": S(type="string")})),
     errors=["400", "415"])},
 "/v1/evidence/purge": {"post": op("purgeEvidence", "Delete items whose retention ended and that no hold covers (keys wiped, files deleted, audited)", ["custodian"],
     ok("Purged", S(type="object", properties={"purged": S(type="integer"), "kept_on_hold": S(type="integer"), "problems": S(type="array", items=S(type="string"))})), errors=["503"])},
 "/v1/legal-requests": {
   "get": op("listLegalRequests", "Recorded legal process", ["legal", "custodian", auditor, admin],
       ok("Requests", S(type="object", properties={"legal_requests": S(type="array", items=ref("LegalRequest"))})), params=[q("status", "open, produced or closed", S(type="string"))]),
   "post": op("createLegalRequest", "Record legal process received, linked to cases", ["legal"], ok("Recorded", ref("LegalRequest"), code="201"),
       body=json_body(S(type="object", required=["type", "agency", "case_number", "received", "scope", "cases"], properties={
           "type": S(type="string", enum=["subpoena", "court_order", "search_warrant", "preservation", "emergency", "other"]), "agency": S(type="string"),
           "case_number": S(type="string"), "received": S(type="string", format="date"), "due": S(type="string", format="date"), "scope": S(type="string"),
           "cases": S(type="array", items=S(type="integer"), minItems=1, maxItems=1000)})), errors=["400", "404", "415"])},
 "/v1/legal-requests/{id}": {"get": op("getLegalRequest", "One legal request", ["legal", "custodian", auditor, admin], ok("Request", ref("LegalRequest")), params=[id_param()], errors=["400", "404"])},
 "/v1/legal-requests/{id}/production": {"post": op("produceLegalRequest", "Produce the signed package (manifest, files, chain-of-custody log, Ed25519 signature) and record the production: answered as one tar archive, or written to legal.productions_dir when the operator set one",
     ["custodian"],
     {"200": {"description": "The package: a tar archive built in memory (never written to disk), its entries under legal-request-ID-UTCTIME/. Content-Disposition names the file; X-Vigil-Manifest-SHA256 (recorded on the request), X-Vigil-Public-Key, X-Vigil-Files and X-Vigil-Custody-Records describe it. Check it with `vigil legal verify FILE.tar --public-key HEX`.",
              "content": {"application/x-tar": {"schema": S(type="string", format="binary")}}},
      "413": err("The package would be over the service's max_production_bytes (the message names the limit): produce it with `vigil legal export` or into legal.productions_dir"),
      **ok("Written to legal.productions_dir (only when configured)", S(type="object", properties={"file": S(type="string"), "manifest_sha256": hex_(64), "files": S(type="integer"), "custody_records": S(type="integer"), "public_key": hex_(64)}), code="201")},
     desc="The archive is held in memory up to the service's max_production_bytes (512 MiB); a request whose evidence is larger is refused with 413 before anything is decrypted. One production is built at a time; another meanwhile gets 503.",
     params=[id_param()], errors=["400", "404", "409", "503"])},
 "/v1/transparency": {"get": op("transparency", "Per-month figures: suspensions, uploads actioned by detection source, CyberTipline reports, appeals and overturn rate, median times, legal requests (docs/reporting.md defines each against the DSA template and the TRUST framework)",
     ["legal", auditor, admin], {"200": {"description": "The report", "content": {"application/json": {"schema": S(type="object")}, "text/csv": {"schema": S(type="string")}, "text/html": {"schema": S(type="string")}}}},
     params=[q("from", "First day (YYYY-MM-DD)", S(type="string", format="date"), True), q("to", "Day after the last", S(type="string", format="date"), True),
             q("format", "json, csv or html", S(type="string", enum=["json", "csv", "html"]))], errors=["400"])},
})

doc = {"openapi": "3.0.3",
 "info": {"title": "Vigil matching service", "version": "1",
   "description": "Hash uploads, match them against hash lists (banks) from vetted organisations, and keep the record with full provenance. Every /v1 route needs `Authorization: Bearer <key>`; the roles that may call each operation are in `x-vigil-roles`. Errors are `{\"error\": {\"code\", \"message\"}}`. See docs/api.md."},
 "servers": [{"url": "http://127.0.0.1:8750"}],
 "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API key made with `vigil keys create` or POST /v1/keys"}}, "schemas": schemas},
 "paths": paths}
import os
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "openapi.json"), "w").write(json.dumps(doc, indent=1) + "\n")
