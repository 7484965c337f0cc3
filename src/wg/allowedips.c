#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
/* TEMPORARY STAND-IN: being replaced */
#include "wg/allowedips.h"
struct wg_aip_node { struct wg_aip_node *next; int fam; uint8_t a[16]; uint8_t cidr; void *owner; };
static void mask(uint8_t*a,int len,uint8_t c){for(int i=0;i<len;i++){int b=c-8*i; if(b>=8)continue; a[i]&= b<=0?0:(uint8_t)(0xff<<(8-b));}}
void wg_allowedips_init(struct wg_allowedips*t){t->root4=t->root6=NULL;}
void wg_allowedips_free(struct wg_allowedips*t){struct wg_aip_node*n=t->root4;while(n){struct wg_aip_node*x=n->next;free(n);n=x;}t->root4=NULL;}
int wg_allowedips_insert(struct wg_allowedips*t,int f,const uint8_t*a,uint8_t c,void*o){int l=f==AF_INET?4:16;uint8_t m[16]={0};memcpy(m,a,l);mask(m,l,c);for(struct wg_aip_node*n=t->root4;n;n=n->next)if(n->fam==f&&n->cidr==c&&!memcmp(n->a,m,l)){n->owner=o;return 0;}struct wg_aip_node*n=calloc(1,sizeof*n);n->fam=f;memcpy(n->a,m,16);n->cidr=c;n->owner=o;n->next=t->root4;t->root4=n;return 0;}
int wg_allowedips_remove(struct wg_allowedips*t,int f,const uint8_t*a,uint8_t c,void*o){return -ENOENT;}
void wg_allowedips_remove_owner(struct wg_allowedips*t,void*o){struct wg_aip_node**p=&t->root4;while(*p){if((*p)->owner==o){struct wg_aip_node*x=*p;*p=x->next;free(x);}else p=&(*p)->next;}}
void*wg_allowedips_lookup(const struct wg_allowedips*t,int f,const uint8_t*a){int l=f==AF_INET?4:16;struct wg_aip_node*best=NULL;for(struct wg_aip_node*n=t->root4;n;n=n->next){if(n->fam!=f)continue;uint8_t m[16];memcpy(m,a,l);mask(m,l,n->cidr);if(!memcmp(m,n->a,l)&&(!best||n->cidr>best->cidr))best=n;}return best?best->owner:NULL;}
void wg_allowedips_walk_owner(const struct wg_allowedips*t,const void*o,wg_allowedips_cb cb,void*ctx){for(struct wg_aip_node*n=t->root4;n;n=n->next)if(n->owner==o)cb(ctx,n->fam,n->a,n->cidr);}
size_t wg_allowedips_count_owner(const struct wg_allowedips*t,const void*o){return 0;}
