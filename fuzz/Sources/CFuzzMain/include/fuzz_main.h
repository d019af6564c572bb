#ifndef TANDEM_FUZZ_MAIN_H
#define TANDEM_FUZZ_MAIN_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver on LLVMFuzzerTestOneInput (which each fuzz target defines).
/// SwiftPM names an executable's entry point TARGET_main; each target's TARGET_main calls this.
int tandem_fuzz_main(int argc, char **argv);
#endif
