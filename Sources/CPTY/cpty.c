#define _GNU_SOURCE
#include "cpty.h"
#include <pty.h>
#include <unistd.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <fcntl.h>

/* Nothing of the agent's (sockets, pipes, epoll) may reach the user's shell. */
static void close_inherited_fds(void) {
    if (close_range(3, ~0U, 0) != 0) {
        for (int fd = 3; fd < 1024; fd++) close(fd);
    }
}

static void reset_child_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
    for (int s = 1; s < 32; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        signal(s, SIG_DFL);
    }
}

pid_t tandem_spawn_pty(const char *path, char *const argv[], char *const envp[],
                       const char *cwd, unsigned short rows, unsigned short cols,
                       int *master_fd) {
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    ws.ws_row = rows ? rows : 24;
    ws.ws_col = cols ? cols : 80;
    int master = -1;
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    if (pid < 0) return -1;
    if (pid == 0) {
        reset_child_signals();
        close_inherited_fds();
        if (cwd && chdir(cwd) != 0) { /* stay where we are */ }
        execve(path, argv, envp);
        _exit(127);
    }
    fcntl(master, F_SETFD, FD_CLOEXEC);
    *master_fd = master;
    return pid;
}

pid_t tandem_spawn_pipes(const char *path, char *const argv[], char *const envp[],
                         const char *cwd, int in_fd, int out_fd, int err_fd) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        reset_child_signals();
        setsid();
        dup2(in_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        close_inherited_fds();
        if (cwd && chdir(cwd) != 0) { /* stay where we are */ }
        execve(path, argv, envp);
        _exit(127);
    }
    return pid;
}

int tandem_pty_resize(int master_fd, unsigned short rows, unsigned short cols) {
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    ws.ws_row = rows;
    ws.ws_col = cols;
    return ioctl(master_fd, TIOCSWINSZ, &ws);
}

#include <errno.h>
static int signal_pipe[2] = {-1, -1};

static void signal_to_pipe(int signo) {
    int saved = errno;
    unsigned char b = (unsigned char)signo;
    if (signal_pipe[1] >= 0) { ssize_t r = write(signal_pipe[1], &b, 1); (void)r; }
    errno = saved;
}

int tandem_signal_pipe(int signo) {
    if (signal_pipe[0] < 0) {
        if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = signal_to_pipe;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, NULL);
    return signal_pipe[0];
}

int tandem_open_pty(int *master_fd, int *slave_fd) {
    return openpty(master_fd, slave_fd, NULL, NULL, NULL);
}

int tandem_stat(const char *path, struct stat *st) {
    return stat(path, st);
}
