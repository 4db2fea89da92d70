// The main() of every test program: a test program is also the sandboxed child its code starts
// (sandbox/sandbox.h, run_sandboxed with a SandboxProgram starts /proc/self/exe), so it first
// hands such a start to the sandbox, as imagegate's main() does.
#include <gtest/gtest.h>

#include "sandbox/sandbox.h"

int main(int argc, char** argv) {
  ig::sandbox_child_main(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
