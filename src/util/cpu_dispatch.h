// Run-time CPU dispatch for hot loops: VIGIL_TARGET_CLONES("avx2", "default") compiles a function
// once per instruction set and lets the loader pick (GNU ifunc). ThreadSanitizer instruments the
// ifunc resolvers, which run before its runtime starts, so sanitizer builds that define
// VIGIL_NO_TARGET_CLONES (the tsan preset) get the portable version only.
#pragma once

#if defined(VIGIL_NO_TARGET_CLONES)
#define VIGIL_TARGET_CLONES(...)
#else
#define VIGIL_TARGET_CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#endif
