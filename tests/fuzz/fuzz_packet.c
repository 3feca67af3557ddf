/* fuzz_packet.c: libFuzzer target for the packet parser and the stored and
 * zstd decoders. Parses the input; when it parses, touches every chunk-table
 * entry and stream byte, and decodes stored and zstd bodies (model streams
 * need a model: the codec's own tests cover them). */
#include "member.h"
#include "packet.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    szarc_packet p;
    szarc_err err = {0};
    if (szarc_packet_parse(&p, data, size, &err) != SZARC_OK)
        return 0;
    unsigned sum = 0;
    for (uint32_t i = 0; i < p.coded.n_chunks; i++) {
        sum += p.coded.chunk_tokens[i];
        for (size_t j = 0; j < p.coded.stream_len[i]; j++)
            sum += p.coded.streams[i][j];
    }
    if (p.method != SZARC_METHOD_MODEL) {
        szarc_member_job job = {.packet = &p};
        (void)szarc_members_decode(NULL, NULL, NULL, &job, 1, NULL, NULL, &err);
        if (job.status == SZARC_OK && job.out_len != p.size)
            __builtin_trap();
        free(job.out);
    }
    szarc_packet_free(&p);
    return (int)(sum & 0);
}
