#ifndef DATAPIN_CLIBYAML_SHIM_H
#define DATAPIN_CLIBYAML_SHIM_H
#include <yaml.h>
#endif
