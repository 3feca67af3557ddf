/* push.h: declare a push-constant block once, for C and for GLSL.
 *
 *   SZARC_PUSH_BEGIN(szarc_foo_push)
 *       SZARC_U32 n;
 *       SZARC_I32 shift;
 *   SZARC_PUSH_END(szarc_foo_push)
 *
 * In GLSL (glslang defines VULKAN) this is a push_constant block named pc, so
 * shaders read pc.n; in C it is `typedef struct {...} szarc_foo_push;`, which
 * goes into the kernel table as sizeof(szarc_foo_push). Use 32-bit scalars
 * only, so C and std430 layouts agree; the runtime also checks the size
 * against the block reflected from the SPIR-V. */
#ifndef SZARC_PUSH_H
#define SZARC_PUSH_H

#ifdef VULKAN
#define SZARC_U32 uint
#define SZARC_I32 int
#define SZARC_PUSH_BEGIN(name) layout(push_constant, std430) uniform name##_block {
#define SZARC_PUSH_END(name) } pc;
#else
#include <stdint.h>
#define SZARC_U32 uint32_t
#define SZARC_I32 int32_t
#define SZARC_PUSH_BEGIN(name) typedef struct {
#define SZARC_PUSH_END(name) } name;
#endif

#endif /* SZARC_PUSH_H */
