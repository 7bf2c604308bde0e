/* KEEP(v): keeps a rounded product out of a fused multiply-add. The project builds as gnu17, where GCC may contract
 * a·b + c into one fma (and did, at -O3); an empty asm that claims to change v makes v a value of its own, rounded
 * before anything adds to it. For kernels whose bits are defined with products rounded. Private to src/ops. */
#ifndef XQ_OPS_KEEP_H
#define XQ_OPS_KEEP_H

#if defined(__x86_64__) || defined(__i386__)
#define KEEP(v) __asm__("" : "+x"(v))
#else
#define KEEP(v) ((void)0)
#endif

#endif
