/*
 * secret_file: reads a secret (the relay secret) from a file, so it never
 * has to appear on a command line, where every local user can read it in
 * /proc/PID/cmdline.
 */
#ifndef LR_UTIL_SECRET_FILE_H
#define LR_UTIL_SECRET_FILE_H

/* Reads the first line of path (at most 1023 bytes, trailing "\n" or
 * "\r\n" dropped) into a new string the caller wipes and frees. 0, or
 * -ENOENT and the like from open, -EINVAL for an empty secret or one with
 * a NUL or a second line, -EFBIG for a longer one; *why says which in
 * words. Warns (log) when group or others may read the file. */
int secret_file_read(const char *path, char **out, const char **why);

#endif
