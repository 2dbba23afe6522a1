/*
 * zip.c - read-only ZIP archives in memory (see zip.h).
 *
 * Layout read here (all little-endian):
 *   [local header 30 B + name + extra][data] ... per entry
 *   [central directory: 46 B + name + extra + comment per entry]
 *   [ZIP64 end record 56 B][ZIP64 locator 20 B]   (optional; torch writes them)
 *   [end of central directory 22 B + comment]
 * The end record is found by scanning back over at most 64 KiB of comment
 * for a signature whose comment length reaches exactly the end of the file.
 * When a ZIP64 locator precedes it, the 64-bit counts and offsets of the
 * ZIP64 end record are used; entries whose 32-bit sizes or offset are
 * 0xFFFFFFFF take them from their ZIP64 extra field (id 0x0001).
 *
 * Entries are sorted by name for lookup. The data offset of an entry comes
 * from its local header, which is read when the entry is first read.
 * Stored data is returned in place without a CRC check (checkpoints are
 * gigabytes, mapped lazily); inflated data is CRC-checked.
 */
#include "io/zip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/name_index.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define END_SIZE 22
#define END64_SIZE 56
#define LOCATOR64_SIZE 20
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30
#define MAX_COMMENT 65535
#define DEFLATE_MAX_RATIO 1032 /* deflate cannot expand more than this */

typedef struct zip_entry {
    char *name;
    uint16_t method, flags;
    uint32_t crc;
    uint64_t compressed, uncompressed, local_offset;
    const uint8_t *data;   /* set once read: into the buffer or `inflated` */
    uint8_t *inflated;
} zip_entry;

struct ls_zip {
    const uint8_t *base;
    size_t len;
    const char *what;
    zip_entry *entries;
    size_t count;
    ls_name_index by_name;
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* 1 when [offset, offset + size) lies inside the buffer. */
static int in_bounds(const ls_zip *z, uint64_t offset, uint64_t size)
{
    return offset <= z->len && size <= z->len - offset;
}

/* ------------------------------------------------------ end of directory */

typedef struct directory {
    uint64_t entries, size, offset;
} directory;

static int find_end_record(const ls_zip *z, size_t *at, ls_error *err)
{
    if (z->len < END_SIZE)
        return ls_error_set(err, "%s: zip: file too short for an archive", z->what);
    size_t last = z->len - END_SIZE;
    size_t first = last > MAX_COMMENT ? last - MAX_COMMENT : 0;
    for (size_t pos = last + 1; pos-- > first;) {
        const uint8_t *p = z->base + pos;
        if (rd32(p) == SIG_END && pos + END_SIZE + rd16(p + 20) == z->len) {
            *at = pos;
            return 0;
        }
    }
    return ls_error_set(err, "%s: zip: end of central directory not found (truncated?)", z->what);
}

static int read_zip64_end(const ls_zip *z, size_t end_at, directory *dir, ls_error *err)
{
    const uint8_t *loc = z->base + end_at - LOCATOR64_SIZE;
    uint64_t rec = rd64(loc + 8);
    if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1)
        return ls_error_set(err, "%s: zip: multi-disk archives are not supported", z->what);
    if (!in_bounds(z, rec, END64_SIZE) || rec + END64_SIZE > end_at - LOCATOR64_SIZE)
        return ls_error_set(err, "%s: zip: ZIP64 end record offset out of range", z->what);
    const uint8_t *p = z->base + rec;
    if (rd32(p) != SIG_END64)
        return ls_error_set(err, "%s: zip: bad ZIP64 end record signature", z->what);
    if (rd32(p + 16) != 0 || rd32(p + 20) != 0 || rd64(p + 24) != rd64(p + 32))
        return ls_error_set(err, "%s: zip: multi-disk archives are not supported", z->what);
    dir->entries = rd64(p + 32);
    dir->size = rd64(p + 40);
    dir->offset = rd64(p + 48);
    return 0;
}

static int read_directory_location(const ls_zip *z, directory *dir, ls_error *err)
{
    size_t end_at = 0;
    if (find_end_record(z, &end_at, err) < 0)
        return -1;
    const uint8_t *p = z->base + end_at;
    if (end_at >= LOCATOR64_SIZE && rd32(p - LOCATOR64_SIZE) == SIG_LOCATOR64) {
        if (read_zip64_end(z, end_at, dir, err) < 0)
            return -1;
    } else {
        uint16_t disk = rd16(p + 4), cd_disk = rd16(p + 6), on_disk = rd16(p + 8);
        dir->entries = rd16(p + 10);
        dir->size = rd32(p + 12);
        dir->offset = rd32(p + 16);
        if (dir->entries == 0xFFFF || dir->size == 0xFFFFFFFFu || dir->offset == 0xFFFFFFFFu)
            return ls_error_set(err, "%s: zip: ZIP64 archive without a ZIP64 locator", z->what);
        if (disk != 0 || cd_disk != 0 || on_disk != dir->entries)
            return ls_error_set(err, "%s: zip: multi-disk archives are not supported", z->what);
    }
    if (!in_bounds(z, dir->offset, dir->size) || dir->offset + dir->size > end_at)
        return ls_error_set(err, "%s: zip: central directory out of range (truncated?)", z->what);
    if (dir->entries > dir->size / CENTRAL_SIZE)
        return ls_error_set(err, "%s: zip: %llu entries cannot fit a %llu-byte central directory",
                            z->what, (unsigned long long)dir->entries, (unsigned long long)dir->size);
    return 0;
}

/* -------------------------------------------------------- central entries */

/* Replaces saturated 32-bit fields from the ZIP64 extra field. */
static int apply_zip64_extra(const ls_zip *z, const uint8_t *extra, size_t len, zip_entry *e,
                             uint32_t usize32, uint32_t csize32, uint32_t offset32, ls_error *err)
{
    int need = (usize32 == 0xFFFFFFFFu) + (csize32 == 0xFFFFFFFFu) + (offset32 == 0xFFFFFFFFu);
    for (size_t pos = 0; pos + 4 <= len;) {
        uint16_t id = rd16(extra + pos), size = rd16(extra + pos + 2);
        if (size > len - pos - 4)
            break;
        const uint8_t *field = extra + pos + 4;
        if (id == 0x0001) {
            size_t at = 0;
            uint64_t *targets[3] = { usize32 == 0xFFFFFFFFu ? &e->uncompressed : NULL,
                                     csize32 == 0xFFFFFFFFu ? &e->compressed : NULL,
                                     offset32 == 0xFFFFFFFFu ? &e->local_offset : NULL };
            for (int i = 0; i < 3; i++) {
                if (!targets[i])
                    continue;
                if (at + 8 > size)
                    return ls_error_set(err, "%s: zip: entry '%s': ZIP64 extra field too short",
                                        z->what, e->name);
                *targets[i] = rd64(field + at);
                at += 8;
            }
            return 0;
        }
        pos += 4 + (size_t)size;
    }
    if (need)
        return ls_error_set(err, "%s: zip: entry '%s': missing ZIP64 extra field", z->what, e->name);
    return 0;
}

static int read_central_entry(const ls_zip *z, const uint8_t *p, size_t avail, zip_entry *e,
                              size_t *consumed, ls_error *err)
{
    if (avail < CENTRAL_SIZE || rd32(p) != SIG_CENTRAL)
        return ls_error_set(err, "%s: zip: corrupt central directory entry", z->what);
    size_t name_len = rd16(p + 28), extra_len = rd16(p + 30), comment_len = rd16(p + 32);
    size_t total = CENTRAL_SIZE + name_len + extra_len + comment_len;
    if (total > avail)
        return ls_error_set(err, "%s: zip: central directory entry overruns the directory", z->what);
    const uint8_t *name = p + CENTRAL_SIZE;
    if (memchr(name, 0, name_len))
        return ls_error_set(err, "%s: zip: entry name contains a NUL byte", z->what);
    e->name = malloc(name_len + 1);
    if (!e->name)
        return ls_error_set(err, "%s: out of memory", z->what);
    memcpy(e->name, name, name_len);
    e->name[name_len] = '\0';
    e->flags = rd16(p + 8);
    e->method = rd16(p + 10);
    e->crc = rd32(p + 16);
    uint32_t csize = rd32(p + 20), usize = rd32(p + 24), offset = rd32(p + 42);
    e->compressed = csize;
    e->uncompressed = usize;
    e->local_offset = offset;
    *consumed = total;
    return apply_zip64_extra(z, name + name_len, extra_len, e, usize, csize, offset, err);
}

static int index_names(ls_zip *z, ls_error *err)
{
    if (ls_name_index_init(&z->by_name, z->count) < 0)
        return ls_error_set(err, "%s: out of memory", z->what);
    for (size_t i = 0; i < z->count; i++)
        z->by_name.slots[i] = (ls_name_slot){ z->entries[i].name, i };
    const char *twice = ls_name_index_sort(&z->by_name);
    if (twice)
        return ls_error_set(err, "%s: zip: duplicate entry '%s'", z->what, twice);
    return 0;
}

int ls_zip_open(const void *data, size_t len, const char *what, ls_zip **out, ls_error *err)
{
    *out = NULL;
    ls_zip *z = calloc(1, sizeof *z);
    if (!z)
        return ls_error_set(err, "%s: out of memory", what);
    z->base = data;
    z->len = len;
    z->what = what;
    directory dir = { 0 };
    if (read_directory_location(z, &dir, err) < 0)
        goto fail;
    z->entries = calloc(dir.entries ? dir.entries : 1, sizeof *z->entries);
    if (!z->entries) {
        ls_error_set(err, "%s: out of memory", what);
        goto fail;
    }
    size_t pos = dir.offset, end = dir.offset + dir.size;
    for (uint64_t i = 0; i < dir.entries; i++) {
        size_t consumed = 0;
        z->count++; /* counted first so a failure frees the name */
        if (read_central_entry(z, z->base + pos, end - pos, &z->entries[i], &consumed, err) < 0)
            goto fail;
        pos += consumed;
    }
    if (index_names(z, err) < 0)
        goto fail;
    *out = z;
    return 0;
fail:
    ls_zip_close(z);
    return -1;
}

void ls_zip_close(ls_zip *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->count; i++) {
        free(z->entries[i].name);
        free(z->entries[i].inflated);
    }
    free(z->entries);
    ls_name_index_free(&z->by_name);
    free(z);
}

size_t ls_zip_count(const ls_zip *z)
{
    return z->count;
}

const char *ls_zip_name(const ls_zip *z, size_t index)
{
    return index < z->count ? z->entries[index].name : NULL;
}

ptrdiff_t ls_zip_find(const ls_zip *z, const char *name)
{
    return ls_name_index_find(&z->by_name, name);
}

/* ------------------------------------------------------------ entry data */

static int inflate_entry(ls_zip *z, zip_entry *e, const uint8_t *src, ls_error *err)
{
    if (e->uncompressed > e->compressed * DEFLATE_MAX_RATIO + 64 || e->uncompressed > SIZE_MAX - 1)
        return ls_error_set(err, "%s: zip: entry '%s': uncompressed size %llu is impossible for %llu "
                            "compressed bytes", z->what, e->name, (unsigned long long)e->uncompressed,
                            (unsigned long long)e->compressed);
    uint8_t *dst = malloc(e->uncompressed ? e->uncompressed : 1);
    if (!dst)
        return ls_error_set(err, "%s: out of memory", z->what);
    z_stream s = { 0 };
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) {
        free(dst);
        return ls_error_set(err, "%s: zip: cannot start inflate", z->what);
    }
    /* zlib counts in uInt; feed and drain in chunks so sizes above 4 GiB work. */
    uint64_t in_left = e->compressed, out_left = e->uncompressed;
    s.next_in = (Bytef *)src;
    s.next_out = dst;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (s.avail_in == 0 && in_left) {
            s.avail_in = in_left > 0x40000000u ? 0x40000000u : (uInt)in_left;
            in_left -= s.avail_in;
        }
        if (s.avail_out == 0 && out_left) {
            s.avail_out = out_left > 0x40000000u ? 0x40000000u : (uInt)out_left;
            out_left -= s.avail_out;
        }
        rc = inflate(&s, Z_NO_FLUSH);
        if (rc == Z_BUF_ERROR && (s.avail_in || in_left) && (s.avail_out || out_left))
            rc = Z_OK;
    }
    uint64_t produced = s.total_out;
    inflateEnd(&s);
    if (rc != Z_STREAM_END || produced != e->uncompressed) {
        free(dst);
        return ls_error_set(err, "%s: zip: entry '%s': corrupt deflate data", z->what, e->name);
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < produced;) {
        uInt n = produced - done > 0x40000000u ? 0x40000000u : (uInt)(produced - done);
        crc = crc32(crc, dst + done, n);
        done += n;
    }
    if (crc != e->crc) {
        free(dst);
        return ls_error_set(err, "%s: zip: entry '%s': CRC mismatch", z->what, e->name);
    }
    e->inflated = dst;
    e->data = dst;
    return 0;
}

int ls_zip_read(ls_zip *z, size_t index, const uint8_t **data, size_t *len, ls_error *err)
{
    if (index >= z->count)
        return ls_error_set(err, "%s: zip: no entry %zu", z->what, index);
    zip_entry *e = &z->entries[index];
    if (!e->data) {
        if (e->flags & 1)
            return ls_error_set(err, "%s: zip: entry '%s' is encrypted", z->what, e->name);
        if (e->method != 0 && e->method != 8)
            return ls_error_set(err, "%s: zip: entry '%s' uses unsupported compression method %u",
                                z->what, e->name, e->method);
        if (e->method == 0 && e->compressed != e->uncompressed)
            return ls_error_set(err, "%s: zip: stored entry '%s' has two different sizes", z->what,
                                e->name);
        if (!in_bounds(z, e->local_offset, LOCAL_SIZE) || rd32(z->base + e->local_offset) != SIG_LOCAL)
            return ls_error_set(err, "%s: zip: entry '%s': bad local header", z->what, e->name);
        const uint8_t *local = z->base + e->local_offset;
        uint64_t data_at = e->local_offset + LOCAL_SIZE + rd16(local + 26) + rd16(local + 28);
        if (!in_bounds(z, data_at, e->compressed) || e->uncompressed > SIZE_MAX)
            return ls_error_set(err, "%s: zip: entry '%s': data out of range (truncated?)", z->what,
                                e->name);
        if (e->method == 0)
            e->data = z->base + data_at;
        else if (inflate_entry(z, e, z->base + data_at, err) < 0)
            return -1;
    }
    *data = e->data;
    *len = (size_t)e->uncompressed;
    return 0;
}
