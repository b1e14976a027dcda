using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace NewLlm.Data;

/// <summary>
/// A folder of JSON files of one object each, as MATH's original release lays out a split
/// (<c>MATH/train/&lt;type folder&gt;/&lt;n&gt;.json</c>), read as rows: from a folder on disk, or from a folder inside a
/// <c>.zip</c> read in place (named <c>{zip}!{folder}</c>, never extracted). Row order, deterministic: the group folders
/// in ordinal order, and within one the files by their number (<c>2.json</c> before <c>10.json</c>; names that are not
/// numbers after them, in ordinal order); hidden files (<c>.</c> names, as macOS's <c>._1.json</c>) are left out. Bounded: a zip's entry count, and each file's size (a zip entry's declared
/// length) against the <see cref="RowLimit"/> before it is read; an entry that inflates past its declared length is refused.
/// </summary>
internal static class JsonFileTree
{
    /// <summary>The most entries a zip may have (MATH's has about 12,600), checked in its end record before the entries are read.</summary>
    public const int MaxZipEntries = 200_000;

    private const string ZipMark = ".zip!";

    /// <summary>Whether a source path names such a folder (on disk, or in a zip).</summary>
    public static bool IsTree(string path) => Directory.Exists(path) || path.Contains(ZipMark, StringComparison.OrdinalIgnoreCase);

    /// <summary>The source path of a folder inside a zip: <c>{zip}!{folder}</c>.</summary>
    public static string InZip(string zip, string folder) => $"{zip}!{folder.Trim('/')}";

    /// <summary>Counts the files (rows) without reading them.</summary>
    public static Task<long> CountRowsAsync(string path, RowLimit limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (TrySplit(path, out string zip, out string folder))
        {
            using var archive = OpenZip(zip);
            return Task.FromResult((long)Entries(archive, zip, folder, limit).Count);
        }

        return Task.FromResult((long)Files(path).Count);
    }

    /// <summary>Streams the files' objects with their 0-based index; files <paramref name="include"/> refuses are not read.</summary>
    public static async IAsyncEnumerable<(long Index, SourceRow Row)> ReadIndexedAsync(string path, Func<long, bool>? include, RowLimit limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (TrySplit(path, out string zip, out string folder))
        {
            using var archive = OpenZip(zip);
            var entries = Entries(archive, zip, folder, limit);
            for (int i = 0; i < entries.Count; i++)
            {
                if (include is null || include(i))
                {
                    var location = RowLocation.WholeFile(zip, entries[i].FullName);
                    byte[] bytes = await ReadEntryAsync(entries[i], location, cancellationToken).ConfigureAwait(false);
                    yield return (i, new SourceRow(JsonRow.Parse(bytes, location.ToString()), location));
                }
            }

            yield break;
        }

        var files = Files(path);
        for (int i = 0; i < files.Count; i++)
        {
            if (include is null || include(i))
            {
                var location = RowLocation.WholeFile(files[i]);
                long length = new FileInfo(files[i]).Length;
                if (length > limit.MaxBytes)
                {
                    throw limit.TooLarge(location.ToString(), length, complete: true);
                }

                byte[] bytes = await File.ReadAllBytesAsync(files[i], cancellationToken).ConfigureAwait(false);
                yield return (i, new SourceRow(JsonRow.Parse(bytes, location.ToString()), location));
            }
        }
    }

    /// <summary>
    /// The fingerprint of the folder: for a folder on disk the SHA-256 of its files' relative paths, sizes and SHA-256s
    /// (one line each, in row order); for a folder in a zip the SHA-256 of the zip's SHA-256 and the folder's name.
    /// </summary>
    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        if (TrySplit(path, out string zip, out string folder))
        {
            text.Append(await SourceFiles.Sha256Async(zip, cancellationToken).ConfigureAwait(false)).Append('\n').Append(folder);
        }
        else
        {
            foreach (string file in Files(path))
            {
                string sha256 = await SourceFiles.Sha256Async(file, cancellationToken).ConfigureAwait(false);
                text.Append(CultureInfo.InvariantCulture, $"{Path.GetRelativePath(path, file).Replace('\\', '/')}\t{new FileInfo(file).Length}\t{sha256}\n");
            }
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The group folders (ordinal) of a zip or a folder that hold <c>.json</c> files.</summary>
    public static bool HasGroups(string folder) => Directory.Exists(folder) && Directory.EnumerateDirectories(folder).Any(d => Directory.EnumerateFiles(d, "*.json").Any());

    private static bool TrySplit(string path, out string zip, out string folder)
    {
        int mark = path.LastIndexOf(ZipMark, StringComparison.OrdinalIgnoreCase);
        zip = mark < 0 ? string.Empty : path[..(mark + ZipMark.Length - 1)];
        folder = mark < 0 ? string.Empty : path[(mark + ZipMark.Length)..];
        return mark >= 0;
    }

    private static List<string> Files(string folder)
    {
        var files = Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal)
            .SelectMany(group => Directory.EnumerateFiles(group, "*.json").Where(f => !Path.GetFileName(f).StartsWith('.')).Order(FileOrder.Instance))
            .ToList();
        return files.Count > 0
            ? files
            : throw new InvalidDataException($"'{folder}' holds no <group folder>/<n>.json files; it holds no rows. {DialogueSource.DescribeFolder(folder)}");
    }

    /// <summary>Opens a zip (its central directory only) once its end record declares no more than <see cref="MaxZipEntries"/> entries.</summary>
    internal static ZipArchive OpenZip(string zip)
    {
        try
        {
            long entries = DeclaredEntryCount(zip);
            return entries <= MaxZipEntries
                ? ZipFile.OpenRead(zip)
                : throw new InvalidDataException($"'{zip}' declares {entries} entries, more than the {MaxZipEntries} a data set's zip may have; it is not the data set's archive.");
        }
        catch (Exception e) when (e is IOException and not FileNotFoundException || (e is InvalidDataException && !e.Message.StartsWith($"'{zip}'", StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"'{zip}' is not a readable zip file ({e.Message}). Download or copy it again.", e);
        }
    }

    /// <summary>The entry count a zip's end of central directory record (or its Zip64 record) declares, read from the file's last bytes.</summary>
    private static long DeclaredEntryCount(string zip)
    {
        using var file = File.OpenRead(zip);
        byte[] tail = new byte[(int)Math.Min(file.Length, 22 + ushort.MaxValue + 20)];
        file.Seek(-tail.Length, SeekOrigin.End);
        file.ReadExactly(tail);
        int end = tail.AsSpan().LastIndexOf("PK\u0005\u0006"u8);
        if (end < 0 || end + 22 > tail.Length)
        {
            throw new InvalidDataException("no end of central directory record");
        }

        long entries = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(end + 10));
        if (entries == ushort.MaxValue && end >= 20 && tail.AsSpan(end - 20).StartsWith("PK\u0006\u0007"u8))
        {
            byte[] record = new byte[40];
            file.Seek((long)BinaryPrimitives.ReadUInt64LittleEndian(tail.AsSpan(end - 20 + 8)), SeekOrigin.Begin);
            file.ReadExactly(record);
            entries = record.AsSpan().StartsWith("PK\u0006\u0006"u8) ? (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(32)), long.MaxValue) : long.MaxValue;
        }

        return entries;
    }

    /// <summary>The <c>{folder}/{group}/{name}.json</c> entries in row order, each declared length checked against the limit.</summary>
    private static List<ZipArchiveEntry> Entries(ZipArchive archive, string zip, string folder, RowLimit limit)
    {
        string prefix = folder.Length == 0 ? string.Empty : folder + "/";
        var entries = archive.Entries
            .Where(e => e.FullName.StartsWith(prefix, StringComparison.Ordinal) && e.FullName.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                && e.FullName.AsSpan(prefix.Length).Count('/') == 1 && !e.Name.StartsWith('.'))
            .OrderBy(e => e.FullName[prefix.Length..e.FullName.LastIndexOf('/')], StringComparer.Ordinal)
            .ThenBy(e => e.Name, FileOrder.Instance)
            .ToList();
        if (entries.Count == 0)
        {
            throw new InvalidDataException($"'{zip}' holds no {prefix}<group folder>/<n>.json entries; it holds no rows.");
        }

        foreach (var entry in entries.Where(e => e.Length > limit.MaxBytes))
        {
            throw limit.TooLarge(RowLocation.WholeFile(zip, entry.FullName).ToString(), entry.Length, complete: true);
        }

        return entries;
    }

    /// <summary>An entry's bytes, read no further than one byte past its declared length.</summary>
    private static async Task<byte[]> ReadEntryAsync(ZipArchiveEntry entry, RowLocation location, CancellationToken cancellationToken)
    {
        byte[] bytes = new byte[entry.Length + 1];
        int read;
        try
        {
            await using var stream = entry.Open();
            read = await stream.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw new InvalidDataException($"{location}: the entry cannot be inflated ({e.Message}). Download or copy the zip again.", e);
        }

        if (read != entry.Length)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{location}: the entry inflates to {(read > entry.Length ? $"more than {entry.Length}" : $"only {read}")} bytes, not the {entry.Length} its header declares; the zip is damaged or crafted. Download or copy it again."));
        }

        // .NET stops inflating at the declared length: an entry that inflates further shows as a CRC-32 that does not match.
        var crc = new ICSharpCode.SharpZipLib.Checksum.Crc32();
        crc.Update(new ArraySegment<byte>(bytes, 0, read));
        return crc.Value == entry.Crc32
            ? bytes[..read]
            : throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{location}: the entry's first {read} bytes (its declared length) do not match its CRC-32 ({crc.Value:x8}, declared {entry.Crc32:x8}): it inflates to other or more bytes than its header declares; the zip is damaged or crafted. Download or copy it again."));
    }

    /// <summary>File names by their number (<c>2.json</c> before <c>10.json</c>), names that are not numbers after them, ordinal.</summary>
    private sealed class FileOrder : IComparer<string>
    {
        public static FileOrder Instance { get; } = new();

        public int Compare(string? x, string? y)
        {
            static long? Number(string? path) => long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : null;
            var (a, b) = (Number(x), Number(y));
            return a is { } m && b is { } n && m != n ? m.CompareTo(n)
                : a.HasValue != b.HasValue ? (a.HasValue ? -1 : 1)
                : StringComparer.Ordinal.Compare(Path.GetFileName(x), Path.GetFileName(y));
        }
    }
}
