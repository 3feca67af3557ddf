// wg_reduce_subgroup.glsl: wg_reduce(x, op) for attn_fused.glsl with
// subgroupMax / subgroupAdd, then across the workgroup's subgroups in shared
// memory. op 0: maximum, 1: sum; exact on ints, so the subgroup size does not
// change a bit.
#extension GL_KHR_shader_subgroup_arithmetic : require
shared int red[SZ_WG];

int wg_reduce(int x, uint op)
{
    const int s = op == 0u ? subgroupMax(x) : subgroupAdd(x);
    barrier(); // the previous reduction's readers of red are done
    if (gl_SubgroupInvocationID == 0u)
        red[gl_SubgroupID] = s;
    barrier();
    int v = red[0];
    for (uint i = 1u; i < gl_NumSubgroups; i++)
        v = op == 0u ? max(v, red[i]) : v + red[i];
    return v;
}
