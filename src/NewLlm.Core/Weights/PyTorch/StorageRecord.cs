namespace NewLlm;

/// <summary>
/// A storage a pickle refers to (<c>('storage', torch.FloatStorage, key, location, numel)</c>): its elements lie in the
/// archive's record <c>data/{key}</c>. Nothing is read until a tensor that uses it is.
/// </summary>
internal sealed record StorageRecord(string Key, ScalarType DType, int ElementSize, long Count)
{
    /// <summary>The storage's size in bytes.</summary>
    public long ByteCount => checked(Count * ElementSize);

    /// <summary>The storage a persistent id names; anything else is refused.</summary>
    public static StorageRecord FromPersistentId(object? id)
    {
        if (id is not object?[] { Length: 5 } tuple || tuple[0] is not "storage")
        {
            throw new InvalidDataException($"data.pkl refers to {PickleValues.Describe(id)}, not to a tensor storage.");
        }

        if (tuple[1] is not PickleGlobal { Module: "torch" } type)
        {
            throw new InvalidDataException($"data.pkl refers to a storage of type {PickleValues.Describe(tuple[1])}, not a torch storage type.");
        }

        (ScalarType dtype, int size) = type.Name switch
        {
            "FloatStorage" => (ScalarType.Float32, 4),
            "DoubleStorage" => (ScalarType.Float64, 8),
            "HalfStorage" => (ScalarType.Float16, 2),
            "BFloat16Storage" => (ScalarType.BFloat16, 2),
            "LongStorage" => (ScalarType.Int64, 8),
            "IntStorage" => (ScalarType.Int32, 4),
            "ShortStorage" => (ScalarType.Int16, 2),
            "CharStorage" => (ScalarType.Int8, 1),
            "ByteStorage" => (ScalarType.Byte, 1),
            "BoolStorage" => (ScalarType.Bool, 1),
            _ => throw new InvalidDataException($"data.pkl has a storage of type torch.{type.Name}, which cannot be read. Convert the tensors to float32 in PyTorch and save again."),
        };
        if (tuple[2] is not string key || key.Length == 0 || key.Length > 64 || key.Contains('/', StringComparison.Ordinal) || key.Contains('\\', StringComparison.Ordinal))
        {
            throw new InvalidDataException($"data.pkl names a storage record {PickleValues.Describe(tuple[2])}, not a record name.");
        }

        if (tuple[4] is not long count || count < 0)
        {
            throw new InvalidDataException($"data.pkl gives storage '{key}' {PickleValues.Describe(tuple[4])} elements.");
        }

        var storage = new StorageRecord(key, dtype, size, count);
        _ = storage.ByteCount; // refuses a count whose bytes overflow
        return storage;
    }
}
