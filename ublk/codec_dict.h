/*
 * codec_dict.h — the zstd dictionaries the codec knows (codec.c), by id.
 *
 * A page compressed with a dictionary is read with exactly the same bytes,
 * wherever it went (store, spill file, a state recovered by a newer
 * server): a dictionary's bytes never change.  A new one is added beside
 * the old ones under a new id (tests/bench/codec-dict says how 1 was made).
 */
#ifndef ZU_CODEC_DICT_H
#define ZU_CODEC_DICT_H

#define ZU_CODEC_DICT1_ID 1u
#define ZU_CODEC_DICT1_BYTES 2048

extern const unsigned char zu_codec_dict1[ZU_CODEC_DICT1_BYTES];

#endif
