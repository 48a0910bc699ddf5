/* Grid Engine's daemons have no setting for the address they listen on: sge_qmaster and sge_execd
 * bind their ports to every address (INADDR_ANY). Preloaded into them by scripts/sge-test-cluster.sh,
 * this bind() puts an IPv4 wildcard on 127.0.0.1 instead, so that the test cluster listens on the
 * loopback only. Built with `gcc -shared -fPIC -o loopback-bind.so loopback-bind.c -ldl`. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *address, socklen_t length) {
    static int (*real_bind)(int, const struct sockaddr *, socklen_t);
    if (!real_bind) real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    if (address && address->sa_family == AF_INET && length >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in loopback;
        memcpy(&loopback, address, sizeof loopback);
        if (loopback.sin_addr.s_addr == htonl(INADDR_ANY)) {
            loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&loopback, sizeof loopback);
        }
    }
    return real_bind(fd, address, length);
}
