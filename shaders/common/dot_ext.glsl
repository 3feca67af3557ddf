// dot_ext.glsl: OpSDot of SPV_KHR_integer_dot_product on two packed int8x4
// words (GL_EXT_integer_dot_product's dotPacked4x8EXT, which this glslang
// lacks, declared through GL_EXT_spirv_intrinsics). The non-saturating form
// only: the sum of four int8 products, |result| <= 4 * 128 * 128, exactly
// dot4() of numerics.glsl. Needs shaderIntegerDotProduct on the device
// (SZARC_SPIRV_CAP_DOT, checked at context creation).
#ifndef SZARC_DOT_EXT_GLSL
#define SZARC_DOT_EXT_GLSL
#extension GL_EXT_spirv_intrinsics : require

// OpSDot (4450) with the PackedVectorFormat4x8Bit operand (0); capabilities
// DotProduct (6019) and DotProductInput4x8BitPacked (6018).
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018],
                  id = 4450)
int sz_sdot_packed(uint a, uint b, spirv_literal int packed_format);

#define DOT4(a, b) sz_sdot_packed(a, b, 0)
#endif
