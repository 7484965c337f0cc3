#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
/* TEMPORARY STAND-IN: being replaced */
#include "wg/replay.h"
void wg_replay_init(struct wg_replay*r){memset(r,0,sizeof*r);}
bool wg_replay_check(struct wg_replay*r,uint64_t c,uint64_t rej){if(c>=rej)return false;if(c+1>r->greatest){r->greatest=c+1;return true;}return true;}
