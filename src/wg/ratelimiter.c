#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
/* TEMPORARY STAND-IN: being replaced */
#include "wg/ratelimiter.h"
int wg_ratelimiter_init(struct wg_ratelimiter*rl){memset(rl,0,sizeof*rl);return 0;}
void wg_ratelimiter_free(struct wg_ratelimiter*rl){}
bool wg_ratelimiter_allow(struct wg_ratelimiter*rl,const struct sockaddr*s,uint64_t n){return true;}
