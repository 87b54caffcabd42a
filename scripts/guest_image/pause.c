/*
 * pause: the process of a CRI pod sandbox container in the pod VM (/pause_bundle/rootfs/pause).
 * It holds the pod's namespaces open: it blocks in pause(2), reaps any child re-parented to it
 * (SIGCHLD; it is PID 1 of the sandbox's PID namespace) and exits 0 on SIGINT or SIGTERM.
 * Built static by scripts/build_guest_image.ts (gcc -static), so the bundle needs no libc.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  int saved = errno;
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int handle(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
  static const char usage[] = "usage: pause (blocks until SIGINT or SIGTERM)\n";
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    (void)!write(1, usage, sizeof usage - 1);
    return 0;
  }
  if (handle(SIGINT, on_stop, 0) != 0 || handle(SIGTERM, on_stop, 0) != 0 ||
      handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) != 0) {
    static const char msg[] = "pause: cannot install signal handlers\n";
    (void)!write(2, msg, sizeof msg - 1);
    return 1;
  }
  for (;;) pause();
}
