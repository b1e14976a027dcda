namespace NewLlm;

/// <summary>
/// A <c>torch.save</c> zip archive opened for reading with bounded memory and time: <c>data.pkl</c> is read through the
/// restricted <see cref="PickleReader"/> into a tree whose tensors are <see cref="TensorRecord"/>s, so a caller checks
/// every shape before anything is inflated; <see cref="Read"/> then reads a tensor's storage, after checking that the
/// record's declared size is the storage's, that the view lies inside it and that the storage is no larger than the
/// views that use it. Records nothing refers to are never read.
/// </summary>
/// <param name="source">The file's name, for messages.</param>
/// <param name="records">The archive's records, owned.</param>
/// <param name="root">The unpickled <c>data.pkl</c>.</param>
/// <param name="tensors">The tensor records in <paramref name="root"/>.</param>
internal sealed class TorchArchive(string source, PyTorchCheckpointRecords records, object? root, List<TensorRecord> tensors) : IDisposable
{
    /// <summary>The largest <c>data.pkl</c> read (a checkpoint's is a few kilobytes per hundred tensors).</summary>
    public const long MaxPickleBytes = 64L << 20;

    /// <summary>The folder NewLlm writes every record under (PyTorch reads whatever folder the records share).</summary>
    public const string Folder = "archive/";

    private readonly Dictionary<string, Tensor> _storages = new(StringComparer.Ordinal);

    /// <summary>How many elements of each storage, from its start, the tensors that use it reach.</summary>
    private readonly Dictionary<string, long> _usedExtent = tensors.GroupBy(t => t.Storage.Key).ToDictionary(g => g.Key, g => g.Max(t => t.Extent), StringComparer.Ordinal);

    /// <summary>The unpickled <c>data.pkl</c>.</summary>
    public object? Root { get; } = root;

    /// <summary>Opens the archive in <paramref name="stream"/> (left open) and reads its <c>data.pkl</c>.</summary>
    /// <exception cref="InvalidDataException">Not a PyTorch zip archive, damaged, or a malformed <c>data.pkl</c>; the message starts with <paramref name="source"/>.</exception>
    public static TorchArchive Open(Stream stream, string source)
    {
        PyTorchCheckpointRecords records = PyTorchCheckpointRecords.Open(stream, source);
        try
        {
            if (records.Sizes.ContainsKey("byteorder") && records.Read("byteorder", 16) is var bytes && !bytes.AsSpan().SequenceEqual("little"u8))
            {
                throw Bad(source, $"its tensors are stored {System.Text.Encoding.ASCII.GetString(bytes)}-endian; only little-endian files (every x86 and Arm machine's) are read.");
            }

            byte[] pickle = records.Read("data.pkl", MaxPickleBytes);
            try
            {
                object? root = PickleReader.Read(pickle, StorageRecord.FromPersistentId);
                return new TorchArchive(source, records, root, PickleValues.CheckNesting(root));
            }
            catch (InvalidDataException ex)
            {
                throw Bad(source, $"its data.pkl cannot be unpickled ({ex.Message}) The file is damaged or was not written by torch.save.", ex);
            }
        }
        catch
        {
            records.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a tensor: its storage is read once (checked against its record and CRC-32) and shared by every tensor
    /// read from it, as <c>torch.load</c> shares it. The caller owns the tensor; it is outside any dispose scope.
    /// </summary>
    /// <param name="tensor">The record.</param>
    /// <param name="name">The tensor's name in the checkpoint, for messages.</param>
    /// <exception cref="InvalidDataException">The storage's record is missing, of another size, larger than its views need, damaged, or fails its CRC-32.</exception>
    public Tensor Read(TensorRecord tensor, string name)
    {
        StorageRecord storage = tensor.Storage;
        if (tensor.Extent > storage.Count)
        {
            throw Bad(source, $"tensor '{name}' of shape {tensor.ShapeText} at offset {tensor.Offset} lies past the end of its storage '{storage.Key}', which has only {storage.Count} elements: the file is corrupted.");
        }

        if (!_storages.TryGetValue(storage.Key, out Tensor? data))
        {
            data = ReadStorage(storage, name);
            _storages[storage.Key] = data;
        }

        using var scope = NewDisposeScope();
        Tensor view = data.as_strided(tensor.Shape, tensor.Stride, tensor.Offset);
        return (tensor.Offset == 0 && tensor.Count == storage.Count && view.is_contiguous() ? data.view(tensor.Shape) : view).DetachFromDisposeScope();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (Tensor storage in _storages.Values)
        {
            storage.Dispose();
        }

        _storages.Clear();
        records.Dispose();
    }

    private Tensor ReadStorage(StorageRecord storage, string name)
    {
        string record = "data/" + storage.Key;
        long length = records.Sizes.TryGetValue(record, out long size) ? size : throw Bad(source, $"tensor '{name}' refers to the record '{records.Folder}{record}', which is missing.");
        if (length != storage.ByteCount)
        {
            throw Bad(source, $"tensor '{name}': the record '{records.Folder}{record}' declares {length} bytes, but its storage of {storage.Count} {storage.DType} elements has {storage.ByteCount}. The file is damaged or was edited.");
        }

        long used = _usedExtent.GetValueOrDefault(storage.Key);
        if (storage.Count > used)
        {
            throw Bad(source, $"tensor '{name}' uses at most {used} of the {storage.Count} elements of its storage '{record}'. A storage larger than the tensors that use it is not read: in PyTorch, save a copy of the tensor (tensor.clone()) instead of a view of a larger one.");
        }

        Tensor data = empty(storage.Count, dtype: storage.DType).DetachFromDisposeScope();
        try
        {
            records.ReadChecked(record, $"tensor '{name}': ", (stream, crc) => SafetensorsFile.ReadInto(data, stream, crc));
            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    /// <summary>An error naming the file, in the words every PyTorch-file error of this library uses.</summary>
    public static InvalidDataException Bad(string source, string what, Exception? inner = null) =>
        new($"{source}: cannot read it as a PyTorch checkpoint: {what}", inner);
}
