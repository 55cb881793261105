// C replica of the encoder's bf16x6 AMX product loop (kernels/src/amx), to see how
// fast the loop itself runs outside the encoder: same tile layout, same 256 x 256 x 128 blocking,
// same product order and reload schedule, on random bf16 pieces.
//
//   gcc -O2 -march=sapphirerapids -o /tmp/amx_loop kernels/replica/amx_loop.c
//   /tmp/amx_loop 2048 3072 768        # rows, outputs, depth: the intermediate layer
//   /tmp/amx_loop 2048 768 3072        # the output layer
//   HOT=1 /tmp/amx_loop 2048 3072 768  # every microblock reads the same tiles (operands in cache)
//
// Prints milliseconds per product and TFLOP/s of bf16 work (six piece products).
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { BLOCK_ROWS = 256, BLOCK_COLS = 256, BLOCK_DEPTH = 128, STEP = 1024 /* u16 per 32x32 step */ };

typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t bytes_per_row[16];
  uint8_t rows[16];
} __attribute__((packed)) tile_config;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint16_t *random_pieces(long count) {
  uint16_t *p = aligned_alloc(64, (count * 2 + 4095) / 4096 * 4096 + 4096);
  for (long i = 0; i < count; i++) p[i] = (uint16_t)((0x3c00 + (rand() & 0x7ff)) ^ ((rand() & 1) << 15));
  return p;
}

// One 32x32 microblock over `steps` 32-deep steps: a[piece] and b[piece] point at its first step.
static inline void microblock(uint16_t *a[3], uint16_t *b[3], float *c, int steps, int first) {
  if (first) {
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
  } else {
    _tile_loadd(0, c, 64); _tile_loadd(1, c + 256, 64); _tile_loadd(2, c + 512, 64); _tile_loadd(3, c + 768, 64);
  }
#define A(p, s) (a[p] + (s) * STEP)
#define B(p, s) (b[p] + (s) * STEP)
  _tile_loadd(4, A(0, 0), 64); _tile_loadd(5, A(0, 0) + 512, 64);
  _tile_loadd(6, B(0, 0), 64); _tile_loadd(7, B(0, 0) + 512, 64);
  for (int s = 0; s < steps; s++) {
    // a0b0, then b1
    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(2, 5, 6); _tile_loadd(6, B(1, s), 64);
    _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(3, 5, 7); _tile_loadd(7, B(1, s) + 512, 64);
    // a0b1, then a1
    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(1, 4, 7); _tile_loadd(4, A(1, s), 64);
    _tile_dpbf16ps(3, 5, 7); _tile_loadd(5, A(1, s) + 512, 64);
    // a1b1, then b0
    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_loadd(6, B(0, s), 64);
    _tile_dpbf16ps(3, 5, 7); _tile_loadd(7, B(0, s) + 512, 64);
    // a1b0, then a2
    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(1, 4, 7); _tile_loadd(4, A(2, s), 64);
    _tile_dpbf16ps(3, 5, 7); _tile_loadd(5, A(2, s) + 512, 64);
    // a2b0, then a0 and b2
    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_loadd(4, A(0, s), 64);
    _tile_dpbf16ps(2, 5, 6); _tile_loadd(6, B(2, s), 64);
    _tile_dpbf16ps(3, 5, 7); _tile_loadd(5, A(0, s) + 512, 64); _tile_loadd(7, B(2, s) + 512, 64);
    // a0b2, then the next step's a0 and b0 (past the end on the last step: read, never used)
    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_loadd(4, A(0, s + 1), 64);
    _tile_dpbf16ps(2, 5, 6); _tile_loadd(6, B(0, s + 1), 64);
    _tile_dpbf16ps(3, 5, 7); _tile_loadd(5, A(0, s + 1) + 512, 64); _tile_loadd(7, B(0, s + 1) + 512, 64);
  }
  _tile_stored(0, c, 64); _tile_stored(1, c + 256, 64); _tile_stored(2, c + 512, 64); _tile_stored(3, c + 768, 64);
}

int main(int argc, char **argv) {
  long rows = argc > 3 ? atol(argv[1]) : 2048, outputs = argc > 3 ? atol(argv[2]) : 3072;
  long depth = argc > 3 ? atol(argv[3]) : 768;
  int hot = getenv("HOT") != NULL;
  if (rows % BLOCK_ROWS || outputs % BLOCK_COLS || depth % BLOCK_DEPTH) {
    fprintf(stderr, "rows and outputs must be multiples of 256, depth of 128\n");
    return 2;
  }
  if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) != 0) {
    fprintf(stderr, "no AMX tile state from the kernel\n");
    return 1;
  }
  tile_config config;
  memset(&config, 0, sizeof config);
  config.palette = 1;
  for (int t = 0; t < 8; t++) config.bytes_per_row[t] = 64, config.rows[t] = 16;
  _tile_loadconfig(&config);
  long steps = depth / 32;
  uint16_t *activations[3], *weights[3];
  for (int p = 0; p < 3; p++) {
    activations[p] = random_pieces(rows * depth + STEP);
    weights[p] = random_pieces(outputs * depth + STEP);
  }
  float *acc = aligned_alloc(64, BLOCK_ROWS * BLOCK_COLS * 4);
  double best = 1e9;
  for (int rep = 0; rep < 6; rep++) {
    double t0 = now();
    for (long col0 = 0; col0 < outputs; col0 += BLOCK_COLS)
      for (long row0 = 0; row0 < rows; row0 += BLOCK_ROWS)
        for (long depth0 = 0; depth0 < depth; depth0 += BLOCK_DEPTH)
          for (long c = 0; c < BLOCK_COLS; c += 32)
            for (long r = 0; r < BLOCK_ROWS; r += 32) {
              long a_at = hot ? 0 : ((row0 + r) / 32 * steps + depth0 / 32) * STEP;
              long b_at = hot ? 0 : ((col0 + c) / 32 * steps + depth0 / 32) * STEP;
              uint16_t *a[3], *b[3];
              for (int p = 0; p < 3; p++) a[p] = activations[p] + a_at, b[p] = weights[p] + b_at;
              float *c_at = acc + (r / 32 * (BLOCK_COLS / 32) + c / 32) * 1024;
              microblock(a, b, c_at, BLOCK_DEPTH / 32, depth0 == 0);
            }
    double t = now() - t0;
    if (rep > 0 && t < best) best = t;
  }
  printf("%ld x %ld x %ld%s: %.1f ms, %.2f TFLOP/s bf16 (best of 5)\n", rows, outputs, depth,
         hot ? " (operands hot)" : "", best * 1e3, 12.0 * rows * outputs * depth / best / 1e12);
  return 0;
}
