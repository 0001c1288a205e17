// The declaration in include/CLibFuzzer.h is all this module is; libFuzzer defines the function.
#include "CLibFuzzer.h"
