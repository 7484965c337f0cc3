/*
 * net_keys: the node's WireGuard key pair in STATE_DIR/keys.
 *
 * Invariants: private.key is created once, atomically (written to a temporary
 * file, synced, renamed), mode 0600 in a 0700 directory, and never rewritten:
 * a file that is unsafe or unreadable as a key stops the start with a clear
 * error instead, because silently replacing it would change the node's
 * identity. public.key is derived data and is rewritten whenever it does not
 * match. Every buffer that held the private key or its text is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "net/net.h"

enum { KEY_FILE_MAX = 128 }; /* longer than any key file we accept */

int net_key_from_base64(uint8_t key[NET_KEY_LEN], const char *b64)
{
	char again[NET_KEY_B64_LEN + 1];
	size_t bin_len;
	int ret = -EINVAL;

	if (strlen(b64) != NET_KEY_B64_LEN ||
	    sodium_base642bin(key, NET_KEY_LEN, b64, NET_KEY_B64_LEN, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    bin_len != NET_KEY_LEN)
		goto out;
	/* Refuse non-canonical text (stray low bits before the '='). */
	net_key_to_base64(again, key);
	if (crypto_equal(again, b64, NET_KEY_B64_LEN))
		ret = 0;
	crypto_wipe(again, sizeof(again));
out:
	if (ret)
		crypto_wipe(key, NET_KEY_LEN);
	return ret;
}

void net_key_to_base64(char b64[NET_KEY_B64_LEN + 1], const uint8_t key[NET_KEY_LEN])
{
	sodium_bin2base64(b64, NET_KEY_B64_LEN + 1, key, NET_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

void net_keys_free(struct net_keys *keys)
{
	if (!keys)
		return;
	crypto_wipe(keys, sizeof(*keys));
	free(keys);
}

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) && errno != EEXIST) {
		int ret = -errno;

		log_error("net", "cannot create %s: %s", path, strerror(-ret));
		return ret;
	}
	return 0;
}

/* Writes text to path through path.tmp, so a crash never leaves half a key. */
static int write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text);
	ssize_t n;
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp); /* ours, left by a crash in the middle of this function */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n != (ssize_t)len)
		ret = n < 0 ? -errno : -EIO;
	if (!ret && (fchmod(fd, mode) || fsync(fd)))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

/* Reads a small key file into buf (NUL-terminated, one trailing newline
 * dropped). With check_private, refuses files others could read or replace. */
static int read_key_file(const char *path, char buf[KEY_FILE_MAX], bool check_private)
{
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (check_private && (!S_ISREG(st.st_mode) || (st.st_mode & 077) ||
			      st.st_uid != geteuid())) {
		log_error("net", "%s: refusing a private key that is not a regular file of ours "
				 "with mode 0600 (mode %04o); fix it with `chmod 600 %s`",
			  path, (unsigned)(st.st_mode & 07777), path);
		ret = -EACCES;
		goto out;
	}
	n = read(fd, buf, KEY_FILE_MAX - 1);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
out:
	close(fd);
	return ret;
}

static int load_private(const char *path, struct net_keys *keys)
{
	char text[KEY_FILE_MAX];
	int ret = read_key_file(path, text, true);

	if (ret == -ENOENT)
		goto out;
	if (ret && ret != -EACCES) {
		log_error("net", "cannot read %s: %s", path, strerror(-ret));
		goto out;
	}
	if (!ret && net_key_from_base64(keys->private_key, text)) {
		log_error("net", "%s does not hold a WireGuard private key (44 characters of "
				 "base64, as `wg genkey` writes); refusing to replace it",
			  path);
		ret = -EINVAL;
	}
out:
	crypto_wipe(text, sizeof(text));
	return ret;
}

static int create_private(const char *path, struct net_keys *keys)
{
	char text[NET_KEY_B64_LEN + 2];
	int ret;

	crypto_x25519_generate(keys->private_key, keys->public_key);
	net_key_to_base64(text, keys->private_key);
	strcat(text, "\n");
	ret = write_file(path, text, 0600);
	crypto_wipe(text, sizeof(text));
	if (ret)
		log_error("net", "cannot write %s: %s", path, strerror(-ret));
	else
		log_info("net", "created a new key pair in %s", path);
	return ret;
}

/* Makes public.key say keys->public_b64 unless it already does. */
static int sync_public(const char *path, const struct net_keys *keys)
{
	char text[KEY_FILE_MAX], want[NET_KEY_B64_LEN + 2];
	int ret = read_key_file(path, text, false);

	if (!ret && !strcmp(text, keys->public_b64))
		return 0;
	if (!ret)
		log_warn("net", "%s did not match the private key; rewriting it", path);
	snprintf(want, sizeof(want), "%s\n", keys->public_b64);
	ret = write_file(path, want, 0600);
	if (ret)
		log_error("net", "cannot write %s: %s", path, strerror(-ret));
	return ret;
}

int net_keys_load_or_create(const char *state_dir, struct net_keys **out)
{
	char dir[PATH_MAX], priv[PATH_MAX], pub[PATH_MAX];
	struct net_keys *keys;
	int ret;

	*out = NULL;
	if (snprintf(dir, sizeof(dir), "%s/keys", state_dir) >= (int)sizeof(dir) ||
	    snprintf(priv, sizeof(priv), "%s/private.key", dir) >= (int)sizeof(priv) ||
	    snprintf(pub, sizeof(pub), "%s/public.key", dir) >= (int)sizeof(pub))
		return -ENAMETOOLONG;
	keys = calloc(1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	ret = make_dir(state_dir, 0700);
	if (!ret)
		ret = make_dir(dir, 0700);
	if (ret)
		goto out;
	ret = load_private(priv, keys);
	if (ret == -ENOENT)
		ret = create_private(priv, keys);
	if (ret)
		goto out;
	crypto_x25519_public(keys->public_key, keys->private_key);
	net_key_to_base64(keys->public_b64, keys->public_key);
	ret = sync_public(pub, keys);
out:
	if (ret)
		net_keys_free(keys);
	else
		*out = keys;
	return ret;
}
