using System.IO.Compression;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace NewLlm;

/// <summary>
/// The records of a <c>torch.save</c> zip archive, opened for verified reading with bounded memory: the read-side
/// counterpart of <see cref="PyTorchCheckpoint.Write(Stream, Func{IReadOnlyDictionary{string, string}, IEnumerable{KeyValuePair{string, byte[]}}}?)"/>,
/// for checking a caller's own records (a manifest, say) and the SHA-256 of every record. Opening checks that the
/// archive has one <c>data.pkl</c> and that every record lies in its folder, once; a record is read only when its
/// declared size is within the caller's bound, and every byte read is checked against that size and the record's zip
/// CRC-32 (the .NET <see cref="ZipArchive"/> checks no CRC).
/// </summary>
/// <remarks>Every error is an <see cref="InvalidDataException"/> whose message starts with the file's name and names the record.</remarks>
public sealed class PyTorchCheckpointRecords : IDisposable
{
    private const int BufferBytes = 1 << 20;
    private readonly ZipArchive _zip;
    private readonly Dictionary<string, ZipArchiveEntry> _entries;

    private PyTorchCheckpointRecords(string sourceName, ZipArchive zip, string folder, Dictionary<string, ZipArchiveEntry> entries)
    {
        SourceName = sourceName;
        _zip = zip;
        Folder = folder;
        _entries = entries;
        Sizes = entries.ToDictionary(kv => kv.Key, kv => kv.Value.Length, StringComparer.Ordinal);
    }

    /// <summary>The file's name, for messages.</summary>
    public string SourceName { get; }

    /// <summary>Every record's declared size in bytes, by its name in the archive's folder (<c>data.pkl</c>, <c>data/0</c>, <c>version</c>, a caller's <c>newllm/manifest.json</c>, ...).</summary>
    public IReadOnlyDictionary<string, long> Sizes { get; }

    /// <summary>The archive's folder, with its slash (<c>archive/</c> in NewLlm's files).</summary>
    internal string Folder { get; }

    /// <summary>Opens the archive in <paramref name="stream"/> (readable and seekable; left open) and checks its layout. Nothing is read from a record yet.</summary>
    /// <param name="stream">The archive.</param>
    /// <param name="sourceName">The file's name, for messages.</param>
    /// <returns>The records; dispose them before the stream.</returns>
    /// <exception cref="InvalidDataException">Not a zip archive (or PyTorch's legacy format), damaged, without exactly one <c>data.pkl</c>, or with a record outside its folder or there twice.</exception>
    public static PyTorchCheckpointRecords Open(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceName);
        Span<byte> head = stackalloc byte[4];
        stream.Position = 0;
        int read = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (read < 4 || head[0] != 0x50 || head[1] != 0x4b || head[2] != 0x03 || head[3] != 0x04)
        {
            // A pickle starts with PROTO (0x80); PyTorch's legacy format is a pickle of its magic number.
            throw TorchArchive.Bad(sourceName, read >= 1 && head[0] == 0x80
                ? "it is in PyTorch's legacy (non-zip) format, which is not supported. Load it in PyTorch and save it again with torch.save (PyTorch 1.6 or later, without _use_new_zipfile_serialization=False)."
                : "the file is not a zip archive, so it was not written by torch.save. Check that the path names a PyTorch checkpoint or state dict.");
        }

        stream.Position = 0;
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException ex)
        {
            throw TorchArchive.Bad(sourceName, $"the zip archive is damaged or truncated ({ex.Message}). Copy or download the file again.", ex);
        }

        try
        {
            ZipArchiveEntry[] pickles = zip.Entries.Where(e => e.FullName == "data.pkl" || e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)).ToArray();
            if (pickles.Length != 1)
            {
                throw TorchArchive.Bad(sourceName, pickles.Length == 0
                    ? "the zip archive has no data.pkl, so it is not a PyTorch checkpoint."
                    : $"the zip archive has {pickles.Length} data.pkl records ({string.Join(", ", pickles.Select(p => p.FullName))}), so it is not one PyTorch checkpoint.");
            }

            string folder = pickles[0].FullName[..^"data.pkl".Length];
            var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (!entry.FullName.StartsWith(folder, StringComparison.Ordinal))
                {
                    throw TorchArchive.Bad(sourceName, $"the record '{entry.FullName}' lies outside the archive's folder '{folder}'.");
                }

                if (!entries.TryAdd(entry.FullName[folder.Length..], entry))
                {
                    throw TorchArchive.Bad(sourceName, $"the record '{entry.FullName}' is there twice.");
                }
            }

            return new PyTorchCheckpointRecords(sourceName, zip, folder, entries);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>Reads a record whole, its size and CRC-32 checked.</summary>
    /// <param name="name">The record's name in the archive's folder.</param>
    /// <param name="maxBytes">The most bytes it may declare (at most <see cref="Array.MaxLength"/>); a larger record is refused before anything is read.</param>
    /// <exception cref="InvalidDataException">The record is missing, declares more than <paramref name="maxBytes"/>, holds other than it declares, or fails its CRC-32.</exception>
    public byte[] Read(string name, long maxBytes)
    {
        long length = Sizes.TryGetValue(name, out long size) ? size : throw TorchArchive.Bad(SourceName, $"the record '{Folder}{name}' is missing.");
        maxBytes = Math.Min(maxBytes, Array.MaxLength);
        if (length > maxBytes)
        {
            throw TorchArchive.Bad(SourceName, $"the record '{Folder}{name}' declares {length} bytes, more than the {maxBytes} such a record may have. The file is damaged or was not written by torch.save.");
        }

        byte[] bytes = new byte[length];
        ReadChecked(name, string.Empty, (stream, crc) =>
        {
            stream.ReadExactly(bytes);
            crc.Append(bytes);
        });
        return bytes;
    }

    /// <summary>A record's SHA-256 (lowercase hex), streamed through a buffer of 1 MiB whatever its size, its size and CRC-32 checked on the way.</summary>
    /// <param name="name">The record's name in the archive's folder.</param>
    /// <exception cref="InvalidDataException">The record is missing, holds other than it declares, or fails its CRC-32.</exception>
    public string Sha256(string name)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadChecked(name, string.Empty, (stream, crc) =>
        {
            byte[] buffer = new byte[BufferBytes];
            for (long left = Sizes[name]; left > 0; left -= buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, left);
                stream.ReadExactly(buffer, 0, n);
                crc.Append(buffer.AsSpan(0, n));
                sha.AppendData(buffer, 0, n);
            }
        });
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Closes the archive (not its stream).</summary>
    public void Dispose() => _zip.Dispose();

    /// <summary>
    /// Runs <paramref name="read"/> on a record's stream, which reads exactly the record's declared size into the CRC-32
    /// it is given; then checks that nothing follows and the CRC-32. A failure names the record after <paramref name="what"/>.
    /// </summary>
    internal void ReadChecked(string name, string what, Action<Stream, Crc32> read)
    {
        ZipArchiveEntry entry = _entries.TryGetValue(name, out ZipArchiveEntry? found) ? found : throw TorchArchive.Bad(SourceName, $"{what}the record '{Folder}{name}' is missing.");
        try
        {
            var crc = new Crc32();
            using (Stream stream = entry.Open())
            {
                read(stream, crc);
                if (stream.ReadByte() >= 0)
                {
                    throw new InvalidDataException($"it holds more than its declared {entry.Length} bytes");
                }
            }

            if (crc.GetCurrentHashAsUInt32() != entry.Crc32)
            {
                throw new InvalidDataException("its bytes do not match its CRC-32");
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException or NotSupportedException)
        {
            throw TorchArchive.Bad(SourceName, $"{what}the record '{entry.FullName}' cannot be read ({ex.Message}). The file is damaged or truncated: copy or download it again.", ex);
        }
    }
}
