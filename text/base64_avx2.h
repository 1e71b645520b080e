/* base64_avx2.h - the AVX2 inner loops of base64.c's base64 (included by
 * base64.c only; static functions). The algorithms are Wojciech Muła and
 * Daniel Lemire's ("Faster Base64 Encoding and Decoding Using AVX2
 * Instructions", ACM TWEB 2018), in the form of Alfred Klomp's libbase64:
 * 24 bytes <-> 32 characters a step, validation by two nibble lookups.
 * Each function does what it can in whole steps and returns how far it got;
 * base64.c's scalar code finishes the rest (and finds the exact offset of a
 * bad character), so the results are the scalar code's, bit for bit. */
#ifndef LKT_BASE64_AVX2_H
#define LKT_BASE64_AVX2_H

#if defined(__x86_64__) && defined(__GNUC__)
#define LKT_BASE64_AVX2 1
#include <immintrin.h>
#include <stdatomic.h>
#include <stddef.h>

/* Whether this CPU runs AVX2 (asked once; threads that race to ask all
 * store the same answer). */
static int lkt_cpu_has_avx2(void) {
  static atomic_int answer = -1;
  int known = atomic_load_explicit(&answer, memory_order_relaxed);
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx2") ? 1 : 0;
    atomic_store_explicit(&answer, known, memory_order_relaxed);
  }
  return known;
}

/* 12 bytes of each 128-bit lane's 16 spread so that every 32-bit word holds
 * 3 input bytes, then the four 6-bit fields of each word moved to their own
 * bytes; input loaded 4 bytes before the 24 it encodes. */
__attribute__((target("avx2"))) static inline __m256i lk_enc_reshuffle(__m256i input) {
  const __m256i in = _mm256_shuffle_epi8(
      input, _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1, 14, 15, 13, 14, 11,
                             12, 10, 11, 8, 9, 7, 8, 5, 6, 4, 5));
  const __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0FC0FC00));
  const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
  const __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003F03F0));
  const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
  return _mm256_or_si256(t1, t3);
}

/* 6-bit values to alphabet characters: one offset per range (A-Z, a-z,
 * 0-9, '+', '/'), looked up by a clamped index. */
__attribute__((target("avx2"))) static inline __m256i lk_enc_translate(__m256i in) {
  const __m256i lut =
      _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0, 65, 71, -4,
                       -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
  __m256i indices = _mm256_subs_epu8(in, _mm256_set1_epi8(51));
  const __m256i above_25 = _mm256_cmpgt_epi8(in, _mm256_set1_epi8(25));
  indices = _mm256_sub_epi8(indices, above_25);
  return _mm256_add_epi8(in, _mm256_shuffle_epi8(lut, indices));
}

/* Encodes whole steps of 24 bytes of in[0, n) into out; returns the bytes
 * done (a multiple of 24; the caller encodes the rest). Reads at most n
 * bytes. */
__attribute__((target("avx2"))) static size_t lkt_base64_encode_avx2(const unsigned char *in,
                                                                     size_t n, char *out) {
  if (n < 32)
    return 0;
  /* The first step loads at in (nothing before it may be read) and moves
   * the words up by one; later ones load 4 bytes back. */
  __m256i src = _mm256_loadu_si256((const __m256i *)(const void *)in);
  src = _mm256_permutevar8x32_epi32(src, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6));
  _mm256_storeu_si256((__m256i *)(void *)out, lk_enc_translate(lk_enc_reshuffle(src)));
  size_t done = 24;
  out += 32;
  for (; done + 28 <= n; done += 24, out += 32) {
    src = _mm256_loadu_si256((const __m256i *)(const void *)(in + done - 4));
    _mm256_storeu_si256((__m256i *)(void *)out, lk_enc_translate(lk_enc_reshuffle(src)));
  }
  return done;
}

/* Decodes whole steps of 32 characters of in (nquads groups of 4, no
 * padding) into out, stopping before a step with a character outside the
 * alphabet; returns the quads done. Writes 32 bytes a step (8 past the 24
 * decoded), all within the 3 * nquads bytes of out. */
__attribute__((target("avx2"))) static size_t lkt_base64_decode_avx2(const char *in, size_t nquads,
                                                                     unsigned char *out) {
  const __m256i lut_lo =
      _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B,
                       0x1B, 0x1B, 0x1A, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                       0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
  const __m256i lut_hi =
      _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10,
                       0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10,
                       0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  const __m256i lut_roll =
      _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4, -65,
                       -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i mask_2f = _mm256_set1_epi8(0x2F);
  size_t q = 0;
  /* 11 quads ahead: the 32-byte store of a step stays inside out. */
  for (; q + 11 <= nquads; q += 8) {
    __m256i str = _mm256_loadu_si256((const __m256i *)(const void *)(in + 4 * q));
    const __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(str, 4), mask_2f);
    const __m256i lo_nibbles = _mm256_and_si256(str, mask_2f);
    const __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
    const __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
    if (!_mm256_testz_si256(lo, hi))
      break; /* a character outside the alphabet in this step */
    const __m256i eq_2f = _mm256_cmpeq_epi8(str, mask_2f);
    const __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles));
    str = _mm256_add_epi8(str, roll);
    /* Four 6-bit values per word to 3 bytes, then the bytes packed. */
    const __m256i merged = _mm256_maddubs_epi16(str, _mm256_set1_epi32(0x01400140));
    __m256i packed = _mm256_madd_epi16(merged, _mm256_set1_epi32(0x00011000));
    packed = _mm256_shuffle_epi8(packed, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12,
                                                          -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9,
                                                          8, 14, 13, 12, -1, -1, -1, -1));
    packed = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1));
    _mm256_storeu_si256((__m256i *)(void *)(out + 3 * q), packed);
  }
  return q;
}

#endif /* x86-64 */
#endif
