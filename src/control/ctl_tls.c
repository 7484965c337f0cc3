/*
 * ctl_tls: self-signed certificates and SPKI pins (see ctl_tls.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control/ctl_tls.h"
#include "crypto/crypto.h"
#include "log/log.h"

#define TLS_TAG "tls"
#define PIN_PREFIX "sha256/"

enum { TLS_VALID_DAYS = 3650 };

static int pin_from_spki(X509 *x, char out[CTL_TLS_PIN_LEN + 1])
{
	unsigned char *der = NULL, hash[32];
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	if (len <= 0)
		return -EBADMSG;
	if (!EVP_Digest(der, (size_t)len, hash, NULL, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		return -EBADMSG;
	}
	OPENSSL_free(der);
	memcpy(out, PIN_PREFIX, sizeof(PIN_PREFIX) - 1);
	EVP_EncodeBlock((unsigned char *)out + sizeof(PIN_PREFIX) - 1, hash, sizeof(hash));
	out[CTL_TLS_PIN_LEN] = '\0';
	return 0;
}

int ctl_tls_pin_of_x509(const void *x509, char out[CTL_TLS_PIN_LEN + 1])
{
	return x509 ? pin_from_spki((X509 *)x509, out) : -EBADMSG;
}

int ctl_tls_pin_of_file(const char *cert_path, char out[CTL_TLS_PIN_LEN + 1])
{
	FILE *f = fopen(cert_path, "r");
	X509 *x;
	int r;

	if (!f)
		return -errno;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	r = x ? pin_from_spki(x, out) : -EBADMSG;
	X509_free(x);
	return r;
}

int ctl_tls_pin_check(const char *s)
{
	unsigned char hash[33];
	const char *b64;

	if (!s || strncmp(s, PIN_PREFIX, sizeof(PIN_PREFIX) - 1) ||
	    strlen(s) != CTL_TLS_PIN_LEN)
		return -EINVAL;
	b64 = s + sizeof(PIN_PREFIX) - 1;
	/* 44 characters decode to 33 bytes with the padding counted: one '='. */
	if (b64[43] != '=' || b64[42] == '=' ||
	    EVP_DecodeBlock(hash, (const unsigned char *)b64, 44) != 33)
		return -EINVAL;
	return 0;
}

bool ctl_tls_pin_equal(const char *a, const char *b)
{
	return strlen(a) == CTL_TLS_PIN_LEN && strlen(b) == CTL_TLS_PIN_LEN &&
	       crypto_equal(a, b, CTL_TLS_PIN_LEN);
}

static X509 *make_cert(EVP_PKEY *key, const char *common_name)
{
	X509 *x = X509_new();
	X509_NAME *name;
	uint64_t serial;

	if (!x)
		return NULL;
	crypto_random(&serial, sizeof(serial));
	serial >>= 1; /* positive */
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) || !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)TLS_VALID_DAYS * 86400) ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)common_name, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Opens path for writing with mode, refusing to replace a file. */
static FILE *create_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *x)
{
	FILE *f = create_file(path, mode);
	int ok;

	if (!f)
		return -errno;
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
	if (fclose(f) || !ok) {
		unlink(path);
		return -EIO;
	}
	return 0;
}

int ctl_tls_make_selfsigned(const char *cert_path, const char *key_path,
			    const char *common_name)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = key ? make_cert(key, common_name) : NULL;
	int r = -EIO;

	if (!x) {
		log_error(TLS_TAG, "cannot make a TLS key and certificate (OpenSSL)");
		goto out;
	}
	r = write_pem(key_path, 0600, key, NULL);
	if (r) {
		log_error(TLS_TAG, "cannot write %s: %s", key_path, strerror(-r));
		goto out;
	}
	r = write_pem(cert_path, 0644, NULL, x);
	if (r) {
		log_error(TLS_TAG, "cannot write %s: %s", cert_path, strerror(-r));
		unlink(key_path);
	}
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}
