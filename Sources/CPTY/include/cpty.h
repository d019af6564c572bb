#ifndef TANDEM_CPTY_H
#define TANDEM_CPTY_H
#include <sys/types.h>
#include <sys/stat.h>

/// Starts `path` with `argv`/`envp` on a new pseudo-terminal of the given size.
/// The child runs only execve: no Swift code ever runs after fork.
/// Returns the child's pid and stores the master side in *master_fd, or -1.
pid_t tandem_spawn_pty(const char *path, char *const argv[], char *const envp[],
                       const char *cwd, unsigned short rows, unsigned short cols,
                       int *master_fd);

/// Starts `path` with stdin/stdout/stderr on the three given descriptors.
pid_t tandem_spawn_pipes(const char *path, char *const argv[], char *const envp[],
                         const char *cwd, int in_fd, int out_fd, int err_fd);

/// Sets the window size of a pseudo-terminal master.
int tandem_pty_resize(int master_fd, unsigned short rows, unsigned short cols);


/// Routes `signo` to a self-pipe and returns its read end (one pipe for all signals).
/// Each delivery writes the signal number as one byte; safe inside a signal handler.
int tandem_signal_pipe(int signo);

/// Opens a new pseudo-terminal pair (for tests that act as a person at a terminal).
int tandem_open_pty(int *master_fd, int *slave_fd);

/// stat(2): Swift cannot call it by name, since `stat` also names the struct.
int tandem_stat(const char *path, struct stat *st);
#endif
