/* bench_python.c - runs the embedded refs.py (`python -c SCRIPT ARGS`) and
 * reads its JSON lines back into bench rows. */
#include "bench_python.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* tests/bench/refs.py, embedded by tools/embed.c (not NUL-terminated). */
extern const unsigned char lk_bench_refs_py[];
extern const size_t lk_bench_refs_py_len;

void bench_python_init(bench_python *py) {
  memset(py, 0, sizeof *py);
  const char *env = getenv("LEAKYCL_PYTHON");
  py->python = env && *env ? env : "python3";
}

void bench_python_free(bench_python *py) {
  for (size_t i = 0; i < py->note_count; i++)
    free(py->notes[i]);
  py->note_count = 0;
}

/* Prints a note on stderr unless it was printed before. */
static void bench_python_note(bench_python *py, const char *text) {
  for (size_t i = 0; i < py->note_count; i++)
    if (strcmp(py->notes[i], text) == 0)
      return;
  fprintf(stderr, "leakycl: bench: note: %s\n", text);
  if (py->note_count < BENCH_PYTHON_MAX_NOTES) {
    char *copy = strdup(text);
    if (copy)
      py->notes[py->note_count++] = copy;
  }
}

/* Adds a library to the skip list once ("numpy" stops all runs). */
static void bench_python_skip(bench_python *py, const char *library) {
  if (strcmp(library, "numpy") == 0) {
    py->disabled = 1;
    return;
  }
  if (strstr(py->skip, library))
    return;
  const size_t len = strlen(py->skip);
  snprintf(py->skip + len, sizeof py->skip - len, "%s%s", len ? "," : "", library);
}

static void copy_string(char *dst, size_t size, const cJSON *item) {
  snprintf(dst, size, "%s", cJSON_IsString(item) ? item->valuestring : "");
}

/* One output line: a note, or a result appended to rows. */
static int bench_python_line(bench_python *py, const bench_python_job *job, const char *line,
                             bench_rows *rows) {
  cJSON *obj = cJSON_Parse(line);
  if (!obj) {
    bench_python_note(py, "the Python references printed a line that is not JSON; ignored");
    return 0;
  }
  int rc = 0;
  const cJSON *note = cJSON_GetObjectItemCaseSensitive(obj, "note");
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(obj, "op");
  const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(obj, "seconds");
  bench_op parsed_op;
  if (cJSON_IsString(note)) {
    bench_python_note(py, note->valuestring);
    const cJSON *skip = cJSON_GetObjectItemCaseSensitive(obj, "skip");
    if (cJSON_IsString(skip))
      bench_python_skip(py, skip->valuestring);
  } else if (cJSON_IsString(op) && bench_op_from_name(op->valuestring, &parsed_op) == 0 &&
             cJSON_IsNumber(seconds)) {
    bench_row row = *job->like;
    snprintf(row.kind, sizeof row.kind, "reference");
    copy_string(row.name, sizeof row.name, cJSON_GetObjectItemCaseSensitive(obj, "name"));
    copy_string(row.activation, sizeof row.activation,
                cJSON_GetObjectItemCaseSensitive(obj, "activation"));
    copy_string(row.variant, sizeof row.variant, cJSON_GetObjectItemCaseSensitive(obj, "variant"));
    row.op = parsed_op;
    row.fused_dalpha = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "fused_dalpha"));
    row.resident = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "resident"));
    row.n = job->n;
    row.seconds = seconds->valuedouble;
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(obj, "min_seconds");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(obj, "max_seconds");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(obj, "samples");
    row.min_seconds = cJSON_IsNumber(lo) ? lo->valuedouble : row.seconds;
    row.max_seconds = cJSON_IsNumber(hi) ? hi->valuedouble : row.seconds;
    row.samples = cJSON_IsNumber(count) ? (int)count->valuedouble : 0;
    row.bytes = bench_bytes(row.op, row.fused_dalpha, row.n);
    rc = bench_rows_push(rows, &row);
  }
  cJSON_Delete(obj);
  return rc;
}

int bench_python_run(bench_python *py, const bench_python_job *job, bench_rows *rows) {
  if (py->disabled)
    return 0;
  char *script = malloc(lk_bench_refs_py_len + 1);
  if (!script)
    return -1;
  memcpy(script, lk_bench_refs_py, lk_bench_refs_py_len);
  script[lk_bench_refs_py_len] = '\0';
  char repeat[16];
  snprintf(repeat, sizeof repeat, "%d", job->repeat);
  const char *argv[] = {py->python,
                        "-c",
                        script,
                        "--x",
                        job->x_path,
                        "--dy",
                        job->dy_path,
                        "--repeat",
                        repeat,
                        "--cl-device",
                        job->like->device_index,
                        "--activations",
                        job->activations,
                        "--ops",
                        job->ops,
                        "--skip",
                        py->skip,
                        NULL};
  int fds[2];
  if (pipe(fds) != 0) {
    free(script);
    bench_python_note(py, "cannot create a pipe for the Python references; skipped");
    return 0;
  }
  fflush(NULL);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execvp(argv[0], (char *const *)argv);
    _exit(127); /* no such interpreter */
  }
  free(script); /* the child has its own copy */
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    bench_python_note(py, "cannot start the Python references (fork failed); skipped");
    return 0;
  }
  int rc = 0;
  FILE *out = fdopen(fds[0], "r");
  char *line = NULL;
  size_t cap = 0;
  while (out && getline(&line, &cap, out) > 0)
    if (rc == 0)
      rc = bench_python_line(py, job, line, rows);
  free(line);
  if (out)
    fclose(out);
  else
    close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    char text[512];
    snprintf(text, sizeof text,
             "cannot run %s (set LEAKYCL_PYTHON): NumPy, JAX and pyopencl references skipped",
             py->python);
    bench_python_note(py, text);
    py->disabled = 1;
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    bench_python_note(py, "the Python references failed (see above); their rows may be missing");
  }
  return rc;
}
