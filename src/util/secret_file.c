/*
 * secret_file: see secret_file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "util/secret_file.h"

enum { SECRET_MAX = 1023 };

static int secret_check(char *buf, size_t n, const char **why)
{
	if (n > SECRET_MAX) {
		*why = "longer than 1023 bytes";
		return -EFBIG;
	}
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (!n) {
		*why = "empty";
		return -EINVAL;
	}
	if (memchr(buf, '\n', n) || strlen(buf) != n) {
		*why = "more than one line, or a NUL byte";
		return -EINVAL;
	}
	return 0;
}

int secret_file_read(const char *path, char **out, const char **why)
{
	char *buf = calloc(1, SECRET_MAX + 2);
	struct stat st;
	size_t n = 0;
	ssize_t got = 0;
	int fd = -1, r;

	*out = NULL;
	*why = "cannot be read";
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		log_warn("secret", "%s can be read by other users (chmod 600 it)", path);
	while (n < SECRET_MAX + 1 && (got = read(fd, buf + n, SECRET_MAX + 1 - n)) > 0)
		n += (size_t)got;
	r = got < 0 ? -errno : secret_check(buf, n, why);
out:
	if (fd >= 0)
		close(fd);
	if (r) {
		crypto_wipe(buf, SECRET_MAX + 2);
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}
