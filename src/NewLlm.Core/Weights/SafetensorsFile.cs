using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

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

    /// <summary>Reads every tensor of a file onto the CPU. F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL are understood.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, its header is malformed, or a tensor's offsets, type or shape are inconsistent.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Safetensors file not found: {path}", path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        return Parse(bytes, path);
    }

    /// <summary>Reads the tensors of a safetensors image held in memory.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="source">Name used in error messages.</param>
    public static Dictionary<string, Tensor> Parse(ReadOnlySpan<byte> bytes, string source = "safetensors data")
    {
        if (bytes.Length < 8)
        {
            throw new InvalidDataException($"{source}: truncated safetensors file ({bytes.Length} bytes, the 8-byte header length alone is missing).");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > bytes.Length - 8)
        {
            throw new InvalidDataException($"{source}: the header length {headerLength} exceeds the file ({bytes.Length} bytes); the file is truncated or not safetensors.");
        }

        ReadOnlySpan<byte> data = bytes[(8 + (int)headerLength)..];
        JsonDocument header;
        try
        {
            header = JsonDocument.Parse(bytes.Slice(8, (int)headerLength).ToArray());
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source}: the safetensors header is not valid JSON: {ex.Message}", ex);
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using (header)
            {
                if (header.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidDataException($"{source}: the safetensors header is not a JSON object.");
                }

                foreach (JsonProperty entry in header.RootElement.EnumerateObject())
                {
                    if (entry.Name == "__metadata__")
                    {
                        continue;
                    }

                    result.Add(entry.Name, ReadTensor(entry, data, source));
                }
            }
        }
        catch
        {
            foreach (Tensor t in result.Values)
            {
                t.Dispose();
            }

            throw;
        }

        return result;
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
                for (int i = 0; i < padding; i++)
                {
                    stream.WriteByte((byte)' ');
                }

                foreach (byte[] blob in blobs)
                {
                    stream.Write(blob);
                }
            },
            flushToDisk: true);
    }

    private static Tensor ReadTensor(JsonProperty entry, ReadOnlySpan<byte> data, string source)
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

        if (shape.Any(d => d < 0))
        {
            throw new InvalidDataException($"{source}: tensor '{name}' has a negative dimension in shape [{string.Join(", ", shape)}].");
        }

        long count = shape.Aggregate(1L, (a, b) => checked(a * b));
        if (begin < 0 || end < begin || end > data.Length)
        {
            throw new InvalidDataException($"{source}: tensor '{name}' has data offsets [{begin}, {end}] outside the {data.Length} data bytes; the file is truncated or corrupt.");
        }

        if (end - begin != count * size)
        {
            throw new InvalidDataException($"{source}: tensor '{name}' of shape [{string.Join(", ", shape)}] and type {dtypeElement.GetString()} needs {count * size} bytes, but its offsets hold {end - begin}.");
        }

        Tensor result = empty(shape, dtype: type);
        data.Slice((int)begin, (int)(end - begin)).CopyTo(result.bytes);
        return result;
    }

    private static (ScalarType Type, int Size) ParseDType(string name, string tensor, string source) => name switch
    {
        "F32" => (ScalarType.Float32, 4),
        "F64" => (ScalarType.Float64, 8),
        "F16" => (ScalarType.Float16, 2),
        "BF16" => (ScalarType.BFloat16, 2),
        "I64" => (ScalarType.Int64, 8),
        "I32" => (ScalarType.Int32, 4),
        "I16" => (ScalarType.Int16, 2),
        "I8" => (ScalarType.Int8, 1),
        "U8" => (ScalarType.Byte, 1),
        "BOOL" => (ScalarType.Bool, 1),
        _ => throw new InvalidDataException($"{source}: tensor '{tensor}' has unsupported dtype '{name}'."),
    };

    private static string DTypeName(ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float64 => "F64",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"Safetensors cannot hold tensors of type {type}."),
    };
}
