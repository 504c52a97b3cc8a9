/* create_file.h: create a host file for proxy's own output (core files). */
#ifndef PROXY_CREATE_FILE_H
#define PROXY_CREATE_FILE_H

#include <stdbool.h>

/* Open PATH for writing, mode 0600, following no symbolic link; an existing file is
 * truncated only with `overwrite` (else EEXIST). A descriptor, or -1 with errno. */
int create_host_file(const char *path, bool overwrite);
/* What EEXIST and ELOOP from create_host_file mean, NULL for other errors. */
const char *create_host_file_error(int e);

#endif
