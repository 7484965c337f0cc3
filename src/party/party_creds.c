/*
 * party_creds: the files the PartyManager keeps in the state directory.
 * control.json holds the control plane we registered with, our peer ID, the
 * secret session token and the party we are in, so that a restart
 * authenticates as the same peer (and keeps its virtual IP) and a crash
 * resumes the party.
 *
 * Invariants: private files are written whole (temporary file, fsync,
 * rename) with mode 0600, so a crash leaves the old or the new file, never a
 * torn one; the token is wiped from every buffer that held it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "party/party_internal.h"

int party_write_private(const char *dir, const char *name, const char *text)
{
	char path[4096], tmp[4096];
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (!r && fsync(fd))
		r = -errno;
	close(fd);
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
out:
	if (r)
		log_error(PARTY_TAG, "cannot write %s: %s", path, strerror(-r));
	return r;
}

void party_creds_wipe(struct party_creds *c)
{
	crypto_wipe(c, sizeof(*c));
}

static void party_copy_str(char *dst, size_t cap, const json_t *v)
{
	const char *s = json_string_value(v);

	dst[0] = '\0';
	if (s && strlen(s) < cap)
		memcpy(dst, s, strlen(s) + 1);
}

int party_creds_load(const char *state_dir, struct party_creds *out)
{
	char path[4096];
	json_t *j;
	struct stat st;
	int r = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/%s", state_dir, PARTY_CREDS_FILE);
	if (lstat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		log_warn(PARTY_TAG, "%s is not a private regular file; ignoring it", path);
		return -EACCES;
	}
	j = json_load_file(path, 0, NULL);
	if (!json_is_object(j)) {
		log_warn(PARTY_TAG, "%s is not a JSON object; registering again", path);
		r = -EINVAL;
		goto out;
	}
	party_copy_str(out->control, sizeof(out->control), json_object_get(j, "control"));
	party_copy_str(out->peer_id, sizeof(out->peer_id), json_object_get(j, "peer_id"));
	party_copy_str(out->token, sizeof(out->token), json_object_get(j, "token"));
	party_copy_str(out->party_id, sizeof(out->party_id), json_object_get(j, "party_id"));
	if (!out->peer_id[0] || !out->token[0])
		r = -EINVAL;
out:
	/* jansson's copy of the token is freed unwiped: keep it short-lived. */
	json_decref(j);
	return r;
}

int party_creds_save(const char *state_dir, const struct party_creds *c)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "control", c->control, "peer_id",
			      c->peer_id, "token", c->token, "party_id", c->party_id);
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	int r = text ? party_write_private(state_dir, PARTY_CREDS_FILE, text) : -ENOMEM;

	if (text) {
		crypto_wipe(text, strlen(text));
		free(text);
	}
	json_decref(j);
	return r;
}
