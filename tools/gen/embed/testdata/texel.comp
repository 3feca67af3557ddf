#version 450
// Must be accepted: kinds {uniform texel u32, storage texel i32, storage buffer}.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) uniform usamplerBuffer src;
layout(set = 0, binding = 1, r32i) uniform writeonly iimageBuffer dst;
layout(std430, set = 0, binding = 2) buffer B { uint b[]; };
void main() {
    const int i = int(gl_GlobalInvocationID.x);
    imageStore(dst, i, ivec4(int(texelFetch(src, i).x + b[i])));
}
