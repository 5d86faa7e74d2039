#pragma once

// Invariant checks of the fuzz targets. A broken invariant is a finding just like a crash: print
// what broke, then trap, so libFuzzer saves the input as a crash-<sha1> artifact.

#include <cstdio>

#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      __builtin_trap();                                                                         \
    }                                                                                           \
  } while (0)
