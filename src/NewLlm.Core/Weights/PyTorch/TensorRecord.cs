namespace NewLlm;

/// <summary>
/// A tensor a pickle describes (<c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)</c>), not yet
/// read: its storage and where in it the tensor lies. Its shape can be checked before any byte of the storage is read.
/// </summary>
/// <param name="Storage">The storage it is a view of.</param>
/// <param name="Offset">The first element's index in the storage.</param>
/// <param name="Shape">The shape.</param>
/// <param name="Stride">The strides, in elements.</param>
/// <param name="Count">The number of elements (the product of the shape).</param>
/// <param name="Extent">How many elements of the storage, from its start, the tensor reaches.</param>
internal sealed record TensorRecord(StorageRecord Storage, long Offset, long[] Shape, long[] Stride, long Count, long Extent)
{
    /// <summary>The shape as PyTorch prints it.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <summary>The record of <c>_rebuild_tensor_v2</c>'s first four arguments, checked with checked arithmetic.</summary>
    /// <exception cref="InvalidDataException">An argument is malformed, or a size overflows.</exception>
    public static TensorRecord Create(object? storage, object? offset, object? size, object? stride)
    {
        if (storage is not StorageRecord record)
        {
            throw new InvalidDataException($"data.pkl rebuilds a tensor from {PickleValues.Describe(storage)}, not from a storage.");
        }

        long[] shape = Longs(size, "shape", record);
        long[] strides = Longs(stride, "stride", record);
        if (offset is not long start || start < 0 || strides.Length != shape.Length)
        {
            throw new InvalidDataException($"data.pkl describes a tensor of storage '{record.Key}' with offset {PickleValues.Describe(offset)}, shape [{string.Join(", ", shape)}] and stride [{string.Join(", ", strides)}]: malformed.");
        }

        try
        {
            long count = 1;
            long last = start;
            for (int i = 0; i < shape.Length; i++)
            {
                count = checked(count * shape[i]);
                if (shape[i] > 0)
                {
                    last = checked(last + checked((shape[i] - 1) * strides[i]));
                }
            }

            // Whether the view lies inside its storage is checked when the tensor is read, where its name is known.
            long extent = count == 0 ? start : checked(last + 1);
            _ = checked(count * record.ElementSize);
            return new TensorRecord(record, start, shape, strides, count, extent);
        }
        catch (OverflowException ex)
        {
            throw new InvalidDataException($"data.pkl describes a tensor of storage '{record.Key}' with shape [{string.Join(", ", shape)}], whose size overflows: the file is corrupted.", ex);
        }
    }

    private static long[] Longs(object? value, string what, StorageRecord storage) =>
        value is object?[] items && items.Length <= 64 && items.All(i => i is long and >= 0)
            ? items.Select(i => (long)i!).ToArray()
            : throw new InvalidDataException($"data.pkl describes a tensor of storage '{storage.Key}' whose {what} is {PickleValues.Describe(value)}, not a tuple of at most 64 sizes.");
}
