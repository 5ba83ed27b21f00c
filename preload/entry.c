/*
 * The library's start, and the one file that knows every layer: the race
 * detector registers its observer with the recorder, the recorder starts,
 * then the Python layer registers its own and looks for an interpreter.
 * The recorder (preload/runtime.c) calls none of them directly: what it
 * must tell them or ask of them goes through the observers.
 */
#include "preload/preload.h"

__attribute__((constructor(101))) static void weft_entry(void)
{
	weft_races_observe();
	if (weft_start() == 0)
		weft_python_init();
}
