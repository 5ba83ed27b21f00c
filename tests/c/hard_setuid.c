/*
 * Does SETUID_LOCKS lock/unlock pairs and prints its real and effective
 * uid and whether libweft.so is mapped (so a test can tell "the library
 * was there and stayed quiet" from "the library was never loaded"). The hostile-input test builds a
 * copy linked against libweft.so and makes it setuid root, run by an unprivileged user: the dynamic
 * loader then marks the process secure (AT_SECURE) and the library must ignore every WEFT_*
 * variable, recording nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SETUID_LOCKS 30

pthread_mutex_t setuid_mu = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
	for (int i = 0; i < SETUID_LOCKS; i++) {
		pthread_mutex_lock(&setuid_mu);
		pthread_mutex_unlock(&setuid_mu);
	}
	int mapped = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "/libweft.so"))
			mapped = 1;
	if (f)
		fclose(f);
	printf("uid %d euid %d weft %s\n", (int)getuid(), (int)geteuid(),
	       mapped ? "mapped" : "absent");
	return 0;
}
