/* embed_spirv.c: build-time generator of the embedded SPIR-V table.
 *
 *   embed_spirv OUT.c [--allow-float NAME]... NAME=FILE.spv...
 *
 * Reads every compiled kernel, checks it, reflects the facts the runtime needs
 * (storage-buffer bindings, push-constant block size, local size, shared memory,
 * capabilities) and writes OUT.c holding one `static const uint32_t` array per
 * module and the table `szarc_spirv_blobs[]` declared in host/vk/spirv_blobs.h.
 *
 * Checks that fail the build (exit status 1, one line on stderr naming the file):
 *  - not a SPIR-V module, truncated instruction, no GLCompute entry point "main";
 *  - OpTypeFloat anywhere (the integer-only rule), unless NAME is listed with
 *    --allow-float;
 *  - a descriptor in a set other than 0, bindings that are not exactly 0..n-1,
 *    or a descriptor that is not a std430 storage buffer, a u/isamplerBuffer
 *    or an r32ui/r32i u/iimageBuffer;
 *  - a push-constant member type it cannot size, a specialization-constant local size.
 *
 * A host program run by the build: it may exit. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BINDINGS 16 /* = SZARC_SPIRV_MAX_BINDINGS in host/vk/spirv_blobs.h */

/* SPIR-V opcodes, storage classes and decorations used below (SPIR-V 1.3 spec). */
enum {
    OP_CAPABILITY = 17, OP_ENTRY_POINT = 15, OP_EXECUTION_MODE = 16,
    OP_TYPE_INT = 21, OP_TYPE_FLOAT = 22, OP_TYPE_VECTOR = 23, OP_TYPE_MATRIX = 24,
    OP_TYPE_IMAGE = 25, OP_TYPE_SAMPLED_IMAGE = 27,
    OP_TYPE_ARRAY = 28, OP_TYPE_RUNTIME_ARRAY = 29, OP_TYPE_STRUCT = 30,
    OP_TYPE_POINTER = 32, OP_CONSTANT = 43, OP_SPEC_CONSTANT_COMPOSITE = 51,
    OP_VARIABLE = 59, OP_DECORATE = 71, OP_MEMBER_DECORATE = 72
};
enum { SC_UNIFORM_CONSTANT = 0, SC_UNIFORM = 2, SC_WORKGROUP = 4, SC_PUSH_CONSTANT = 9,
       SC_STORAGE_BUFFER = 12 };
enum { DEC_BLOCK = 2, DEC_BUFFER_BLOCK = 3, DEC_ARRAY_STRIDE = 6, DEC_BUILTIN = 11,
       DEC_BINDING = 33, DEC_DESCRIPTOR_SET = 34, DEC_OFFSET = 35 };
enum { MODE_LOCAL_SIZE = 17, MODE_LOCAL_SIZE_ID = 38, BUILTIN_WORKGROUP_SIZE = 25 };
enum { DIM_BUFFER = 5, FORMAT_R32I = 24, FORMAT_R32UI = 33 };
/* binding kinds, = SZARC_SPIRV_* in host/vk/spirv_blobs.h */
enum { K_STORAGE_BUFFER = 0, K_UNIFORM_TEXEL_U32 = 1, K_UNIFORM_TEXEL_I32 = 2,
       K_STORAGE_TEXEL_U32 = 3, K_STORAGE_TEXEL_I32 = 4 };

/* Capability bits, = SZARC_SPIRV_CAP_* in host/vk/spirv_blobs.h. */
enum { CAP_INT64 = 1, CAP_INT16 = 2, CAP_INT8 = 4, CAP_STORAGE8 = 8, CAP_STORAGE16 = 16,
       CAP_SUBGROUP = 32, CAP_SUBGROUP_ARITH = 64, CAP_DOT = 128 };

typedef struct {
    uint32_t op;       /* opcode of the instruction defining the id, 0 if none */
    uint32_t at;       /* word index of that instruction */
    int64_t binding;   /* -1 if not decorated */
    int64_t set;
    uint32_t stride;
    int block, buffer_block, workgroup_size;
} id_info;

typedef struct {
    uint32_t id, member, offset;
} member_offset;

typedef struct {
    const char *name, *path;
    uint32_t *w;
    size_t n;
    id_info *ids;
    uint32_t bound;
    member_offset *offs;
    size_t n_offs;
    /* reflected */
    uint32_t n_bindings, push_size, local[3], shared_bytes, caps;
    uint8_t kinds[MAX_BINDINGS];
} module;

static void die(const module *m, const char *fmt, const char *arg)
{
    fprintf(stderr, "embed_spirv: %s: ", m ? m->path : "usage");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static void load(module *m)
{
    FILE *f = fopen(m->path, "rb");
    if (!f)
        die(m, "cannot open: %s", strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0)
        die(m, "cannot seek%s", "");
    const long len = ftell(f);
    rewind(f);
    if (len < 20 || len % 4 != 0 || len > (64L << 20))
        die(m, "not a SPIR-V module (size)%s", "");
    m->n = (size_t)len / 4;
    m->w = malloc((size_t)len);
    if (!m->w || fread(m->w, 4, m->n, f) != m->n)
        die(m, "cannot read%s", "");
    fclose(f);
    if (m->w[0] != 0x07230203u)
        die(m, "bad SPIR-V magic (or wrong endianness)%s", "");
    m->bound = m->w[3];
    if (m->bound == 0 || m->bound > (1u << 22))
        die(m, "implausible id bound%s", "");
    m->ids = calloc(m->bound, sizeof *m->ids);
    m->offs = calloc(m->n, sizeof *m->offs);
    if (!m->ids || !m->offs)
        die(m, "out of memory%s", "");
    for (uint32_t i = 0; i < m->bound; i++)
        m->ids[i].binding = m->ids[i].set = -1;
}

static id_info *id_at(module *m, uint32_t id)
{
    if (id >= m->bound)
        die(m, "id out of bound%s", "");
    return &m->ids[id];
}

/* Size in bytes of a type as laid out by its decorations (Offset, ArrayStride);
 * undecorated aggregates (shared memory) are sized tightly. */
static uint32_t type_size(module *m, uint32_t type, int depth)
{
    const id_info *t = id_at(m, type);
    const uint32_t *ins = m->w + t->at;
    if (depth > 16)
        die(m, "type nesting too deep%s", "");
    switch (t->op) {
    case OP_TYPE_INT:
    case OP_TYPE_FLOAT:
        return ins[2] / 8;
    case OP_TYPE_VECTOR:
        return type_size(m, ins[2], depth + 1) * ins[3];
    case OP_TYPE_ARRAY: {
        const id_info *len = id_at(m, ins[3]);
        if (len->op != OP_CONSTANT)
            die(m, "array length is not a plain constant%s", "");
        const uint32_t count = m->w[len->at + 3];
        const uint32_t elem = t->stride ? t->stride : type_size(m, ins[2], depth + 1);
        return elem * count;
    }
    case OP_TYPE_STRUCT: {
        const uint32_t n_members = (ins[0] >> 16) - 2;
        uint32_t end = 0, sum = 0;
        for (uint32_t k = 0; k < n_members; k++) {
            const uint32_t sz = type_size(m, ins[2 + k], depth + 1);
            sum += sz;
            for (size_t o = 0; o < m->n_offs; o++)
                if (m->offs[o].id == type && m->offs[o].member == k && m->offs[o].offset + sz > end)
                    end = m->offs[o].offset + sz;
        }
        return end ? end : sum;
    }
    default:
        die(m, "cannot size a member type (matrix, pointer, bool?) in a push constant "
               "or shared variable%s", "");
    }
    return 0;
}

/* Kind of a descriptor variable (K_*) from its storage class and pointee type;
 * -1 if szarc does not support it. */
static int binding_kind(module *m, uint32_t sc, uint32_t pointee)
{
    const id_info *pt = id_at(m, pointee);
    if (pt->op == OP_TYPE_STRUCT)
        return (sc == SC_STORAGE_BUFFER && pt->block) || (sc == SC_UNIFORM && pt->buffer_block)
                   ? K_STORAGE_BUFFER
                   : -1;
    if (sc != SC_UNIFORM_CONSTANT)
        return -1;
    int uniform = 0;
    if (pt->op == OP_TYPE_SAMPLED_IMAGE) {
        uniform = 1;
        pt = id_at(m, m->w[pt->at + 2]);
    }
    if (pt->op != OP_TYPE_IMAGE)
        return -1;
    /* OpTypeImage result, sampled type, Dim, Depth, Arrayed, MS, Sampled, Format */
    const uint32_t *im = m->w + pt->at;
    const id_info *st = id_at(m, im[2]);
    if (st->op != OP_TYPE_INT || m->w[st->at + 2] != 32 || im[3] != DIM_BUFFER)
        return -1;
    const int is_signed = m->w[st->at + 3] != 0;
    if (uniform)
        return im[7] == 1 ? (is_signed ? K_UNIFORM_TEXEL_I32 : K_UNIFORM_TEXEL_U32) : -1;
    if (im[7] != 2)
        return -1;
    if (im[8] == FORMAT_R32UI && !is_signed)
        return K_STORAGE_TEXEL_U32;
    if (im[8] == FORMAT_R32I && is_signed)
        return K_STORAGE_TEXEL_I32;
    return -1;
}

static void reflect(module *m, int allow_float)
{
    int have_entry = 0, have_local = 0;
    uint32_t entry_id = 0;
    size_t i = 5;
    /* pass 1: record definitions and decorations */
    while (i < m->n) {
        const uint32_t wc = m->w[i] >> 16, op = m->w[i] & 0xffffu;
        if (wc == 0 || i + wc > m->n)
            die(m, "truncated instruction%s", "");
        const uint32_t *ins = m->w + i;
        switch (op) {
        case OP_CAPABILITY:
            switch (ins[1]) {
            case 11: m->caps |= CAP_INT64; break;
            case 22: m->caps |= CAP_INT16; break;
            case 39: m->caps |= CAP_INT8; break;
            case 4433: case 4434: case 4435: m->caps |= CAP_STORAGE16; break;
            case 4448: case 4449: case 4450: m->caps |= CAP_STORAGE8; break;
            /* SPV_KHR_integer_dot_product: DotProductInputAll .. DotProduct */
            case 6016: case 6017: case 6018: case 6019: m->caps |= CAP_DOT; break;
            default:
                if (ins[1] >= 61 && ins[1] <= 68)
                    m->caps |= CAP_SUBGROUP;
                if (ins[1] == 63) /* GroupNonUniformArithmetic */
                    m->caps |= CAP_SUBGROUP_ARITH;
            }
            break;
        case OP_ENTRY_POINT:
            if (wc >= 4 && ins[1] == 5 && strncmp((const char *)(ins + 3), "main", 5) == 0) {
                have_entry = 1;
                entry_id = ins[2];
            }
            break;
        case OP_EXECUTION_MODE:
            if (wc >= 6 && ins[2] == MODE_LOCAL_SIZE) {
                have_local = 1;
                m->local[0] = ins[3], m->local[1] = ins[4], m->local[2] = ins[5];
            } else if (wc >= 3 && ins[2] == MODE_LOCAL_SIZE_ID) {
                die(m, "LocalSizeId is not supported: use fixed local_size_x/y/z%s", "");
            }
            break;
        case OP_TYPE_FLOAT:
            if (!allow_float)
                die(m, "contains OpTypeFloat: kernels must be integer-only "
                       "(list it with --allow-float to opt out)%s", "");
            break;
        case OP_DECORATE:
            if (wc >= 3) {
                id_info *t = id_at(m, ins[1]);
                switch (ins[2]) {
                case DEC_BLOCK: t->block = 1; break;
                case DEC_BUFFER_BLOCK: t->buffer_block = 1; break;
                case DEC_ARRAY_STRIDE: if (wc >= 4) t->stride = ins[3]; break;
                case DEC_BINDING: if (wc >= 4) t->binding = ins[3]; break;
                case DEC_DESCRIPTOR_SET: if (wc >= 4) t->set = ins[3]; break;
                case DEC_BUILTIN:
                    if (wc >= 4 && ins[3] == BUILTIN_WORKGROUP_SIZE)
                        t->workgroup_size = 1;
                    break;
                default: break;
                }
            }
            break;
        case OP_MEMBER_DECORATE:
            if (wc >= 5 && ins[3] == DEC_OFFSET) {
                m->offs[m->n_offs].id = ins[1];
                m->offs[m->n_offs].member = ins[2];
                m->offs[m->n_offs].offset = ins[4];
                m->n_offs++;
            }
            break;
        default:
            break;
        }
        /* instructions with a result id: types (result at word 1) or values (word 2) */
        uint32_t result = 0;
        if (op >= 19 && op <= 38 && wc >= 2)
            result = ins[1];
        else if ((op == OP_CONSTANT || op == OP_VARIABLE || op == OP_SPEC_CONSTANT_COMPOSITE ||
                  (op >= 41 && op <= 52)) && wc >= 3)
            result = ins[2];
        if (result) {
            id_info *t = id_at(m, result);
            t->op = op;
            t->at = (uint32_t)i;
        }
        i += wc;
    }
    if (!have_entry)
        die(m, "no GLCompute entry point named \"main\"%s", "");
    if (!have_local)
        die(m, "no LocalSize execution mode%s", "");
    (void)entry_id;

    /* pass 2: variables */
    uint32_t seen = 0;
    for (uint32_t id = 1; id < m->bound; id++) {
        const id_info *v = &m->ids[id];
        if (v->op == OP_SPEC_CONSTANT_COMPOSITE && v->workgroup_size)
            die(m, "specialization-constant local size is not supported%s", "");
        if (v->op != OP_VARIABLE)
            continue;
        const uint32_t *ins = m->w + v->at;
        const uint32_t sc = ins[3];
        const id_info *ptr = id_at(m, ins[1]);
        if (ptr->op != OP_TYPE_POINTER)
            die(m, "variable type is not a pointer%s", "");
        const uint32_t pointee = m->w[ptr->at + 3];
        if (sc == SC_PUSH_CONSTANT) {
            if (m->push_size)
                die(m, "more than one push-constant block%s", "");
            m->push_size = type_size(m, pointee, 0);
        } else if (sc == SC_WORKGROUP) {
            m->shared_bytes += type_size(m, pointee, 0);
        } else if (sc == SC_STORAGE_BUFFER || sc == SC_UNIFORM || sc == SC_UNIFORM_CONSTANT) {
            const int kind = binding_kind(m, sc, pointee);
            if (kind < 0)
                die(m, "descriptor is not a std430 storage buffer, a u/isamplerBuffer or an "
                       "r32ui/r32i u/iimageBuffer (uniform buffers, images, samplers and "
                       "descriptor arrays are not supported)%s", "");
            if (v->set != 0)
                die(m, "descriptor not in descriptor set 0%s", "");
            if (v->binding < 0 || v->binding >= MAX_BINDINGS)
                die(m, "descriptor binding missing or >= 16%s", "");
            if (seen & (1u << v->binding))
                die(m, "two descriptors share a binding%s", "");
            seen |= 1u << v->binding;
            m->kinds[v->binding] = (uint8_t)kind;
        }
    }
    while (seen & (1u << m->n_bindings))
        m->n_bindings++;
    if (seen != (m->n_bindings == 32 ? ~0u : (1u << m->n_bindings) - 1))
        die(m, "descriptor bindings are not exactly 0..n-1%s", "");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die(NULL, "embed_spirv OUT.c [--allow-float NAME]... NAME=FILE.spv...%s", "");
    const char *out_path = argv[1];
    module *mods = calloc((size_t)argc, sizeof *mods);
    const char **allow = calloc((size_t)argc, sizeof *allow);
    size_t n_mods = 0, n_allow = 0;
    if (!mods || !allow)
        die(NULL, "out of memory%s", "");
    for (int a = 2; a < argc; a++) {
        if (strcmp(argv[a], "--allow-float") == 0 && a + 1 < argc) {
            allow[n_allow++] = argv[++a];
            continue;
        }
        char *eq = strchr(argv[a], '=');
        if (!eq || eq == argv[a])
            die(NULL, "bad argument '%s' (want NAME=FILE.spv)", argv[a]);
        *eq = '\0';
        for (const char *c = argv[a]; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_'))
                die(NULL, "kernel name '%s' must be a C identifier", argv[a]);
        for (size_t k = 0; k < n_mods; k++)
            if (strcmp(mods[k].name, argv[a]) == 0)
                die(NULL, "kernel '%s' given twice", argv[a]);
        mods[n_mods].name = argv[a];
        mods[n_mods].path = eq + 1;
        n_mods++;
    }
    for (size_t k = 0; k < n_mods; k++) {
        int allow_float = 0;
        for (size_t j = 0; j < n_allow; j++)
            allow_float |= strcmp(allow[j], mods[k].name) == 0;
        load(&mods[k]);
        reflect(&mods[k], allow_float);
    }

    char tmp_path[4096];
    if (snprintf(tmp_path, sizeof tmp_path, "%s.tmp", out_path) >= (int)sizeof tmp_path)
        die(NULL, "output path too long%s", "");
    FILE *f = fopen(tmp_path, "w");
    if (!f)
        die(NULL, "cannot write output: %s", strerror(errno));
    fprintf(f, "/* Generated by tools/embed/embed_spirv.c from the shaders/ sources. Do not edit. */\n"
               "#include \"spirv_blobs.h\"\n\n");
    for (size_t k = 0; k < n_mods; k++) {
        const module *m = &mods[k];
        fprintf(f, "static const uint32_t spv_%s[%zu] = {", m->name, m->n);
        for (size_t w = 0; w < m->n; w++)
            fprintf(f, "%s0x%08xu,", w % 8 ? " " : "\n    ", m->w[w]);
        fprintf(f, "\n};\n\n");
    }
    fprintf(f, "const szarc_spirv_blob szarc_spirv_blobs[] = {\n");
    for (size_t k = 0; k < n_mods; k++) {
        const module *m = &mods[k];
        fprintf(f, "    {\"%s\", spv_%s, %zu, %u, %u, {%u, %u, %u}, %u, 0x%xu, {", m->name,
                m->name, m->n, m->n_bindings, m->push_size, m->local[0], m->local[1],
                m->local[2], m->shared_bytes, m->caps);
        for (uint32_t b = 0; b < m->n_bindings; b++)
            fprintf(f, "%s%u", b ? ", " : "", m->kinds[b]);
        fprintf(f, "}},\n");
    }
    fprintf(f, "    {NULL, NULL, 0, 0, 0, {0, 0, 0}, 0, 0, {0}},\n};\n");
    if (fclose(f) != 0 || rename(tmp_path, out_path) != 0)
        die(NULL, "cannot write output: %s", strerror(errno));
    for (size_t k = 0; k < n_mods; k++) {
        free(mods[k].w);
        free(mods[k].ids);
        free(mods[k].offs);
    }
    free(mods);
    free(allow);
    return 0;
}
