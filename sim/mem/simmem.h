/* The simulated HAL's interface is installed as <nestwalk-sim/simmem.h>; the simulator names it from sim/. */
#include "mem/nestwalk-sim/simmem.h"
