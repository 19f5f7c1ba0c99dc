// Every module's vigil_module_version (util/module_loader.h): the release it was built from, which
// the loading executable's Version() must equal.
extern "C" const char vigil_module_version[] = VIGIL_VERSION;
