#ifndef TANDEM_CLIBSSH_SHIM_H
#define TANDEM_CLIBSSH_SHIM_H
// Server-side SFTP and bind declarations are only visible with WITH_SERVER.
#define WITH_SERVER 1
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/callbacks.h>
#include <libssh/sftp.h>
#endif
