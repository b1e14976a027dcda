using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;

namespace NewLlm;

/// <summary>
/// Reads and writes the safetensors format: an unsigned 64-bit little-endian header length, a JSON header
/// (<c>{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}</c>),
/// then the raw little-endian tensor data. Written by hand: the format is small, and no maintained .NET
/// reader is available for TorchSharp tensors.
/// </summary>
public static class SafetensorsFile
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;
    private const int ChunkBytes = 16 << 20;

    /// <summary>The dtypes safetensors names, with their element sizes.</summary>
    private static readonly (string Name, ScalarType Type, int Size)[] DTypes =
    [
        ("F32", ScalarType.Float32, 4),
        ("F64", ScalarType.Float64, 8),
        ("F16", ScalarType.Float16, 2),
        ("BF16", ScalarType.BFloat16, 2),
        ("I64", ScalarType.Int64, 8),
        ("I32", ScalarType.Int32, 4),
        ("I16", ScalarType.Int16, 2),
        ("I8", ScalarType.Int8, 1),
        ("U8", ScalarType.Byte, 1),
        ("BOOL", ScalarType.Bool, 1),
    ];

    /// <summary>Reads every tensor of a file onto the CPU. F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL are understood.</summary>
    /// <remarks>
    /// The header is checked whole before any tensor is allocated: every size with checked arithmetic, no name twice,
    /// and the tensors' data offsets tiling the data section exactly (no overlap, no hole), as the format requires.
    /// Each tensor is then read from the file straight into its memory, so reading holds the tensors and nothing more.
    /// </remarks>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, its header is malformed, or a tensor's offsets, type or shape are inconsistent; the message names the file and the tensor.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using FileStream stream = OpenRead(path);
        return ReadTensors(stream, ReadHeader(stream, path), path);
    }

    /// <summary>Reads the tensors of a safetensors image held in memory.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="source">Name used in error messages.</param>
    public static Dictionary<string, Tensor> Parse(ReadOnlySpan<byte> bytes, string source = "safetensors data")
    {
        using var stream = new MemoryStream(bytes.ToArray(), writable: false);
        return ReadTensors(stream, ReadHeader(stream, source), source);
    }

    /// <summary>Opens an existing file; a missing one is a <see cref="FileNotFoundException"/> naming it.</summary>
    internal static FileStream OpenRead(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return File.Exists(path) ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read) : throw new FileNotFoundException($"Safetensors file not found: {path}", path);
    }

    /// <summary>Reads and checks the header of the file in <paramref name="stream"/> (positioned at its start): every entry, in file order.</summary>
    internal static List<SafetensorsEntry> ReadHeader(Stream stream, string source)
    {
        long length = stream.Length;
        if (length < 8)
        {
            throw new InvalidDataException($"{source}: truncated safetensors file ({length} bytes, the 8-byte header length alone is missing).");
        }

        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes || headerLength > (ulong)(length - 8))
        {
            throw new InvalidDataException($"{source}: the header length {headerLength} exceeds the file ({length} bytes) or the {MaxHeaderBytes}-byte limit; the file is truncated or not safetensors.");
        }

        byte[] json = new byte[(int)headerLength];
        stream.ReadExactly(json);
        long dataLength = length - 8 - (long)headerLength;
        var entries = new List<SafetensorsEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using JsonDocument header = JsonDocument.Parse(json);
            if (header.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{source}: the safetensors header is not a JSON object.");
            }

            foreach (JsonProperty entry in header.RootElement.EnumerateObject())
            {
                if (!names.Add(entry.Name))
                {
                    throw new InvalidDataException($"{source}: tensor '{entry.Name}' is in the header twice; a safetensors file names each tensor once.");
                }

                if (entry.Name != "__metadata__")
                {
                    entries.Add(ParseEntry(entry, dataLength, source));
                }
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source}: the safetensors header is not valid JSON: {ex.Message}", ex);
        }

        // The format's rule: the offsets tile the data section, without overlap or hole.
        long next = 0;
        foreach (SafetensorsEntry entry in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (entry.Begin != next)
            {
                throw new InvalidDataException(entry.Begin < next
                    ? $"{source}: tensor '{entry.Name}' has data offsets [{entry.Begin}, {entry.End}] that overlap another tensor's (up to {next}); the file is corrupt."
                    : $"{source}: the data bytes [{next}, {entry.Begin}) before tensor '{entry.Name}' belong to no tensor; the file is corrupt.");
            }

            next = entry.End;
        }

        if (next != dataLength)
        {
            throw new InvalidDataException($"{source}: the tensors' data ends at byte {next} of the {dataLength}-byte data section; the rest belongs to no tensor, so the file is corrupt.");
        }

        return entries;
    }

    /// <summary>Reads the entries' tensors (all, or those <paramref name="wanted"/> accepts) from the file, each straight into its memory.</summary>
    internal static Dictionary<string, Tensor> ReadTensors(Stream stream, List<SafetensorsEntry> entries, string source, Func<string, bool>? wanted = null)
    {
        long dataStart = stream.Length - entries.Sum(e => e.End - e.Begin); // the header checked that the tensors tile the data section
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (SafetensorsEntry entry in entries)
            {
                if (wanted is not null && !wanted(entry.Name))
                {
                    continue;
                }

                Tensor tensor = empty(entry.Shape, dtype: entry.DType).DetachFromDisposeScope();
                result.Add(entry.Name, tensor);
                stream.Position = dataStart + entry.Begin;
                ReadInto(tensor, stream);
            }
        }
        catch (Exception ex)
        {
            foreach (Tensor t in result.Values)
            {
                t.Dispose();
            }

            if (ex is EndOfStreamException or IOException)
            {
                throw new InvalidDataException($"{source}: the tensors cannot be read ({ex.Message}); the file is truncated or damaged.", ex);
            }

            throw;
        }

        return result;
    }

    /// <summary>
    /// Reads a new tensor's bytes from <paramref name="stream"/> straight into its memory, 16 MiB at a time (for
    /// safetensors data and <c>torch.save</c> storages alike), adding them to <paramref name="crc"/> when given.
    /// </summary>
    internal static void ReadInto(Tensor tensor, Stream stream, Crc32? crc = null)
    {
        using Tensor flat = tensor.reshape(-1);
        long count = flat.numel();
        long perChunk = ChunkBytes / tensor.ElementSize;
        for (long done = 0; done < count; done += perChunk)
        {
            using Tensor chunk = flat.narrow(0, done, Math.Min(perChunk, count - done));
            Span<byte> bytes = chunk.bytes;
            stream.ReadExactly(bytes);
            crc?.Append(bytes);
        }
    }

    /// <summary>
    /// Writes tensors (converted to contiguous CPU data of their own type) with an optional string metadata
    /// map. The file is written to a temporary name beside <paramref name="path"/> and renamed over it, so a
    /// crash never leaves a torn file.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var blobs = new List<byte[]>();
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is not null && metadata.Count > 0)
        {
            header["__metadata__"] = metadata;
        }

        long offset = 0;
        foreach ((string name, Tensor tensor) in tensors)
        {
            using Tensor cpu = tensor.detach().cpu().contiguous();
            byte[] raw = cpu.bytes.ToArray();
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("Safetensors writing needs a little-endian machine.");
            }

            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = DTypeName(cpu.dtype),
                ["shape"] = cpu.shape,
                ["data_offsets"] = new[] { offset, offset + raw.Length },
            };
            blobs.Add(raw);
            offset += raw.Length;
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padding = (8 - json.Length % 8) % 8;
        AtomicFile.Write(
            path,
            stream =>
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
                stream.Write(length);
                stream.Write(json);
                stream.Write("       "u8[..padding]); // the format pads its header with spaces to 8 bytes

                foreach (byte[] blob in blobs)
                {
                    stream.Write(blob);
                }
            },
            flushToDisk: true);
    }

    private static SafetensorsEntry ParseEntry(JsonProperty entry, long dataLength, string source)
    {
        string name = entry.Name;
        JsonElement e = entry.Value;
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out JsonElement offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{source}: tensor '{name}' needs 'dtype', 'shape' and two 'data_offsets' in the header.");
        }

        (ScalarType type, int size) = ParseDType(dtypeElement.GetString()!, name, source);
        long[] shape;
        long begin, end;
        try
        {
            shape = shapeElement.EnumerateArray().Select(x => x.GetInt64()).ToArray();
            begin = offsetsElement[0].GetInt64();
            end = offsetsElement[1].GetInt64();
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{source}: tensor '{name}' has a non-integer shape or offset.", ex);
        }

        if (shape.Any(d => d < 0) || shape.Length > 64)
        {
            throw new InvalidDataException($"{source}: tensor '{name}' has an impossible shape [{string.Join(", ", shape)}].");
        }

        long bytes;
        try
        {
            bytes = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * size);
        }
        catch (OverflowException ex)
        {
            throw new InvalidDataException($"{source}: tensor '{name}' has shape [{string.Join(", ", shape)}], whose size in bytes overflows; the file is corrupt.", ex);
        }

        if (begin < 0 || end < begin || end > dataLength)
        {
            throw new InvalidDataException($"{source}: tensor '{name}' has data offsets [{begin}, {end}] outside the {dataLength} data bytes; the file is truncated or corrupt.");
        }

        if (end - begin != bytes)
        {
            throw new InvalidDataException($"{source}: tensor '{name}' of shape [{string.Join(", ", shape)}] and type {dtypeElement.GetString()} needs {bytes} bytes, but its offsets hold {end - begin}.");
        }

        return new SafetensorsEntry(name, type, shape, begin, end);
    }

    private static (ScalarType Type, int Size) ParseDType(string name, string tensor, string source) =>
        DTypes.FirstOrDefault(d => d.Name == name) is { Name: not null } d ? (d.Type, d.Size) : throw new InvalidDataException($"{source}: tensor '{tensor}' has unsupported dtype '{name}'.");

    private static string DTypeName(ScalarType type) =>
        DTypes.FirstOrDefault(d => d.Type == type).Name ?? throw new NotSupportedException($"Safetensors cannot hold tensors of type {type}.");
}
