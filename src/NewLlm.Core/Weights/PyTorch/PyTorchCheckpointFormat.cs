using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using TorchSharp.PyBridge;

namespace NewLlm;

/// <summary>
/// Reads and writes <see cref="PyTorchCheckpoint"/>s. Reading goes through <see cref="TorchArchive"/>, so a hostile file
/// costs at most the model's own size; writing pickles through TorchSharp.PyBridge's <see cref="PyTorchPickler"/> and
/// lays the records out as torch.save does, with any records of the caller's own after them.
/// </summary>
internal static class PyTorchCheckpointFormat
{
    private const string ModelStateKey = "model_state_dict";
    private const string EpochKey = "current_epoch";
    private const string ConfigKey = "config";

    /// <summary>The four per-epoch lists of the original, by key.</summary>
    private static readonly string[] ListKeys = ["train_losses", "val_losses", "train_ppls", "val_ppls"];

    /// <summary>
    /// Reads a checkpoint: the pickle first, then every shape is checked (the model's against <paramref name="expected"/>,
    /// or against the sizes its own shapes imply; Adam's moments against their parameters), and only then are the
    /// tensors read. With <paramref name="modelOnly"/>, only the model's state is read. Another model than New-LLM
    /// gives <paramref name="shapesOf"/>: its parameter names and shapes for the declared ones (it throws an
    /// <see cref="InvalidDataException"/> naming the file when they are not its state dict); <paramref name="expected"/> is then unused.
    /// </summary>
    public static PyTorchCheckpoint Read(Stream stream, string source, NewLlmOptions? expected, bool modelOnly, Func<IReadOnlyDictionary<string, long[]>, List<KeyValuePair<string, long[]>>>? shapesOf = null)
    {
        using TorchArchive archive = TorchArchive.Open(stream, source);
        PickleDict root = RootDict(archive.Root, source);
        List<KeyValuePair<string, TensorRecord>> model = ModelRecords(root, source, out bool flat);
        // Without expected sizes, a Transformer baseline's state dict (its attention blocks) is checked as one, else as New-LLM's.
        if (shapesOf is null && expected is null && model.Any(kv => kv.Key == TransformerBaselineModel.FirstAttentionWeight))
        {
            shapesOf = declared => TransformerBaselineModel.ShapesOf(TransformerBaselineModel.InferOptions(declared, source, numHeads: 1, dropout: 0.0));
        }

        List<KeyValuePair<string, long[]>> shapes = shapesOf is null ? CheckModel(model, expected, source) : CheckShapes(model, shapesOf, source);
        var checkpoint = new PyTorchCheckpoint { IsStateDictOnly = flat };
        try
        {
            var adamRecords = new List<(int Index, TensorRecord ExpAvg, TensorRecord ExpAvgSq, TensorRecord? Max)>();
            if (!flat && !modelOnly)
            {
                if (root[PyTorchAdamFormat.Key] is { } optimizer)
                {
                    checkpoint.Optimizer = PyTorchAdamFormat.Read(optimizer, shapes, source, archive, adamRecords);
                }

                checkpoint.TrainLosses = ReadList(root, ListKeys[0], source, archive);
                checkpoint.ValLosses = ReadList(root, ListKeys[1], source, archive);
                checkpoint.TrainPpls = ReadList(root, ListKeys[2], source, archive);
                checkpoint.ValPpls = ReadList(root, ListKeys[3], source, archive);
                if (root[EpochKey] is { } epoch)
                {
                    checkpoint.CurrentEpoch = epoch is long e and >= int.MinValue and <= int.MaxValue ? (int)e : throw TorchArchive.Bad(source, $"'{EpochKey}' is {PickleValues.Describe(epoch)}, not an integer.");
                }

                ReadConfig(root[ConfigKey], checkpoint, source);
            }

            // Every shape is known to fit: now the tensors are read.
            checkpoint.ModelState = model.ToDictionary(kv => kv.Key, kv => checkpoint.Own(archive.Read(kv.Value, $"{ModelStateKey}.{kv.Key}")), StringComparer.Ordinal);
            foreach ((int index, TensorRecord expAvg, TensorRecord expAvgSq, TensorRecord? max) in adamRecords)
            {
                PyTorchAdamParameterState state = checkpoint.Optimizer!.State[index];
                string where = $"{PyTorchAdamFormat.Key}.state.{index}";
                state.ExpAvg = checkpoint.Own(archive.Read(expAvg, $"{where}.exp_avg"));
                state.ExpAvgSq = checkpoint.Own(archive.Read(expAvgSq, $"{where}.exp_avg_sq"));
                state.MaxExpAvgSq = max is null ? null : checkpoint.Own(archive.Read(max, $"{where}.max_exp_avg_sq"));
            }

            return checkpoint;
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The checkpoint's config (the original's attributes, or the plain dict NewLlm writes), read from the pickle alone,
    /// no tensor; empty for a flat state dict or a checkpoint without one. The stream is left open, at no set position.
    /// </summary>
    public static IDictionary<string, object?> ReadConfig(Stream stream, string source)
    {
        using TorchArchive archive = TorchArchive.Open(stream, source);
        PickleDict root = RootDict(archive.Root, source);
        _ = ModelRecords(root, source, out bool flat);
        if (flat)
        {
            return new Dictionary<string, object?>();
        }

        using var checkpoint = new PyTorchCheckpoint();
        ReadConfig(root[ConfigKey], checkpoint, source);
        return checkpoint.Config;
    }

    /// <summary>Opens an existing file, <paramref name="fullPath"/> naming it; a missing one is a <see cref="FileNotFoundException"/> naming it.</summary>
    public static FileStream OpenRead(string path, out string fullPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        fullPath = Path.GetFullPath(path);
        return File.Exists(fullPath) ? new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read) : throw new FileNotFoundException($"{fullPath}: the PyTorch checkpoint does not exist.", fullPath);
    }

    private static PickleDict RootDict(object? root, string source) => root switch
    {
        PickleDict dict => dict,
        PickledObject o when o.Type.Module == "__main__" || o.Type.Module.StartsWith("torch.nn", StringComparison.Ordinal) =>
            throw TorchArchive.Bad(source, $"it holds a whole pickled module (torch.save(model)), not a state dict: an instance of {o.Type.FullName}. In PyTorch, save model.state_dict() instead."),
        PickledObject o => throw TorchArchive.Bad(source, $"it holds a call of {o.Type.FullName} (never made: reading runs nothing from a file), not a checkpoint dict or a state dict."),
        _ => throw TorchArchive.Bad(source, $"it holds {PickleValues.Describe(root)}, not a checkpoint dict or a state dict."),
    };

    /// <summary>The tensor records of <c>model_state_dict</c>, or of the root itself when it is a flat state dict.</summary>
    private static List<KeyValuePair<string, TensorRecord>> ModelRecords(PickleDict root, string source, out bool flat)
    {
        flat = !root.ContainsKey(ModelStateKey);
        if (flat && (root.Count == 0 || root.Any(kv => kv.Value is not TensorRecord)))
        {
            string keys = string.Join(", ", root.Keys.Select(k => $"'{k}'").Order(StringComparer.Ordinal).Take(12));
            throw TorchArchive.Bad(source, $"it has no '{ModelStateKey}' and is not a state dict either (its top-level keys: {(keys.Length == 0 ? "none" : keys)}). Pass the original trainer's checkpoint or a torch.save(model.state_dict()) file.");
        }

        object? state = flat ? root : root[ModelStateKey];
        if (state is not PickleDict dict)
        {
            throw TorchArchive.Bad(source, $"'{ModelStateKey}' is {PickleValues.Describe(state)}, not a dict of tensors.");
        }

        return dict.Select(kv => new KeyValuePair<string, TensorRecord>(
            kv.Key as string ?? throw TorchArchive.Bad(source, $"'{ModelStateKey}' has a key {PickleValues.Describe(kv.Key)}, not a parameter name."),
            kv.Value as TensorRecord ?? throw TorchArchive.Bad(source, $"'{ModelStateKey}' entry '{kv.Key}' is {PickleValues.Describe(kv.Value)}, not a tensor."))).ToList();
    }

    /// <summary>Checks that the records are exactly the parameters of a model of <paramref name="expected"/> sizes, or of those their shapes imply; returns that model's names and shapes.</summary>
    private static List<KeyValuePair<string, long[]>> CheckModel(List<KeyValuePair<string, TensorRecord>> records, NewLlmOptions? expected, string source)
    {
        var declared = records.ToDictionary(kv => kv.Key, kv => kv.Value.Shape, StringComparer.Ordinal);
        NewLlmOptions options;
        try
        {
            options = expected ?? SafetensorsWeights.InferOptions(declared, source);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            throw TorchArchive.Bad(source, $"its '{ModelStateKey}' implies impossible model sizes ({ex.Message}).", ex);
        }

        List<KeyValuePair<string, long[]>> shapes = ParameterShapes.Of(options);
        List<string> problems = ParameterShapes.Problems(declared, shapes, allowUnexpected: false);
        if (problems.Count > 0)
        {
            throw TorchArchive.Bad(source, $"its '{ModelStateKey}' does not hold a New-LLM model with {Sizes(options)}: {string.Join("; ", problems)}.{(expected is null ? string.Empty : Holds(declared, source))}");
        }

        return shapes;
    }

    /// <summary>Checks that the records are exactly the parameters <paramref name="shapesOf"/> gives for them; returns those names and shapes.</summary>
    private static List<KeyValuePair<string, long[]>> CheckShapes(List<KeyValuePair<string, TensorRecord>> records, Func<IReadOnlyDictionary<string, long[]>, List<KeyValuePair<string, long[]>>> shapesOf, string source)
    {
        var declared = records.ToDictionary(kv => kv.Key, kv => kv.Value.Shape, StringComparer.Ordinal);
        List<KeyValuePair<string, long[]>> shapes = shapesOf(declared);
        List<string> problems = ParameterShapes.Problems(declared, shapes, allowUnexpected: false);
        return problems.Count == 0 ? shapes : throw TorchArchive.Bad(source, $"its '{ModelStateKey}' does not hold the model: {string.Join("; ", problems)}.");
    }

    /// <summary>What the file holds, for a message about a model of other sizes: the sizes its shapes imply, when they imply any.</summary>
    private static string Holds(Dictionary<string, long[]> declared, string source)
    {
        try
        {
            return $" The file holds a model with {Sizes(SafetensorsWeights.InferOptions(declared, source))}: create it with NewLlmModel.FromPyTorch, or build this model with those sizes.";
        }
        catch (Exception ex) when (ex is InvalidDataException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            return " Check that the file is a New-LLM state dict.";
        }
    }

    private static string Sizes(NewLlmOptions o) =>
        $"VocabSize={o.VocabSize}, EmbedDim={o.EmbedDim}, HiddenDim={o.HiddenDim}, ContextDim={o.ContextDim}, NumLayers={o.NumLayers}";

    private static void ReadConfig(object? config, PyTorchCheckpoint checkpoint, string source)
    {
        try
        {
            switch (config)
            {
                case null:
                    break;
                case PickledObject { State: PickleDict or null } instance:
                    checkpoint.ConfigClassName = instance.Type.FullName;
                    checkpoint.Config = instance.State is PickleDict attributes ? (Dictionary<string, object?>)PickleValues.Plain(attributes, ConfigKey)! : [];
                    break;
                case PickleDict dict:
                    checkpoint.Config = (Dictionary<string, object?>)PickleValues.Plain(dict, ConfigKey)!;
                    break;
                default:
                    throw new InvalidDataException($"'{ConfigKey}' is {PickleValues.Describe(config)}, neither an object nor a dict.");
            }
        }
        catch (InvalidDataException ex)
        {
            throw TorchArchive.Bad(source, ex.Message, ex);
        }
    }

    /// <summary>Writes the checkpoint to a file through <see cref="AtomicFile"/>.</summary>
    public static void Write(PyTorchCheckpoint checkpoint, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using MemoryStream pickled = Pickle(copies => Root(checkpoint, copies));
        AtomicFile.Write(path, stream => WriteRecords(pickled, stream, null), flushToDisk: true);
    }

    /// <summary>Writes the checkpoint to a stream, then the records <paramref name="extraRecords"/> returns.</summary>
    public static void Write(PyTorchCheckpoint checkpoint, Stream stream, Func<IReadOnlyDictionary<string, string>, IEnumerable<KeyValuePair<string, byte[]>>>? extraRecords)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using MemoryStream pickled = Pickle(copies => Root(checkpoint, copies));
        WriteRecords(pickled, stream, extraRecords);
    }

    /// <summary>Writes a flat state dict (parameter name to tensor) as <c>torch.save(model.state_dict())</c> would.</summary>
    public static void WriteStateDict(IEnumerable<KeyValuePair<string, Tensor>> state, string path)
    {
        using MemoryStream pickled = Pickle(copies => StateForPickle(state, copies));
        AtomicFile.Write(path, stream => WriteRecords(pickled, stream, null), flushToDisk: true);
    }

    /// <summary>The original's checkpoint dict, in its key order.</summary>
    private static OrderedDictionary Root(PyTorchCheckpoint checkpoint, List<Tensor> copies)
    {
        var root = new OrderedDictionary { [ModelStateKey] = StateForPickle(checkpoint.ModelState, copies) };
        if (checkpoint.Optimizer is { } adam)
        {
            root[PyTorchAdamFormat.Key] = PyTorchAdamFormat.ForPickle(adam, copies);
        }

        root[ListKeys[0]] = new ArrayList(checkpoint.TrainLosses.ToArray());
        root[ListKeys[1]] = new ArrayList(checkpoint.ValLosses.ToArray());
        root[ListKeys[2]] = new ArrayList(checkpoint.TrainPpls.ToArray());
        root[ListKeys[3]] = new ArrayList(checkpoint.ValPpls.ToArray());
        if (checkpoint.CurrentEpoch is int epoch)
        {
            root[EpochKey] = epoch;
        }

        root[ConfigKey] = ConfigForPickle(checkpoint.Config, ConfigKey);
        return root;
    }

    /// <summary>
    /// Pickles the dict <paramref name="build"/> returns into a zip archive in memory, sized for its tensors (a growing
    /// stream would copy it each time it doubles); then frees the tensors made for it.
    /// </summary>
    private static MemoryStream Pickle(Func<List<Tensor>, IDictionary> build)
    {
        var copies = new List<Tensor>();
        try
        {
            IDictionary root = build(copies);
            long tensorBytes = copies.Sum(t => t.numel() * t.ElementSize);
            var pickled = new MemoryStream((int)Math.Min(Array.MaxLength, tensorBytes + (1 << 20)));
            PyTorchPickler.PickleStateDict(pickled, root, leaveOpen: true);
            return pickled;
        }
        finally
        {
            foreach (Tensor copy in copies)
            {
                copy.Dispose();
            }
        }
    }

    /// <summary>
    /// Writes the pickled archive as <c>torch.save</c> lays it out: stored records under <see cref="TorchArchive.Folder"/>
    /// in its order (<c>data.pkl</c>, <c>byteorder</c>, <c>data/0</c> to <c>data/N</c>, <c>version</c>), each hashed on
    /// the way, then the records <paramref name="extraRecords"/> returns, given those hashes.
    /// </summary>
    private static void WriteRecords(MemoryStream pickled, Stream stream, Func<IReadOnlyDictionary<string, string>, IEnumerable<KeyValuePair<string, byte[]>>>? extraRecords)
    {
        pickled.Position = 0;
        using var source = new ZipArchive(pickled, ZipArchiveMode.Read, leaveOpen: true);
        Dictionary<string, ZipArchiveEntry> records = source.Entries.ToDictionary(e => e.FullName[(e.FullName.IndexOf('/', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);
        string[] names =
        [
            "data.pkl",
            "byteorder",
            .. records.Keys.Where(k => k.StartsWith("data/", StringComparison.Ordinal)).OrderBy(k => int.Parse(k.AsSpan(5), CultureInfo.InvariantCulture)),
            "version",
        ];
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            using Stream record = name == "byteorder" ? new MemoryStream("little"u8.ToArray(), writable: false) : records[name].Open();
            hashes[name] = AddRecord(zip, name, record);
        }

        foreach ((string name, byte[] bytes) in extraRecords?.Invoke(hashes) ?? [])
        {
            using var record = new MemoryStream(bytes, writable: false);
            AddRecord(zip, name, record);
        }
    }

    /// <summary>Copies <paramref name="content"/> into a new stored record; returns its SHA-256 (lowercase hex).</summary>
    private static string AddRecord(ZipArchive zip, string name, Stream content)
    {
        using Stream stream = zip.CreateEntry(TorchArchive.Folder + name, CompressionLevel.NoCompression).Open();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        int read;
        while ((read = content.Read(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            stream.Write(buffer, 0, read);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Name to tensor, each made ready for the pickler.</summary>
    private static OrderedDictionary StateForPickle(IEnumerable<KeyValuePair<string, Tensor>> state, List<Tensor> copies)
    {
        ArgumentNullException.ThrowIfNull(state);
        var dict = new OrderedDictionary();
        foreach ((string name, Tensor tensor) in state)
        {
            dict[name] = ForPickle(tensor, copies);
        }

        return dict;
    }

    /// <summary>
    /// The tensor as the pickler needs it: contiguous on the CPU, with no gradient, at storage offset 0 (PyBridge writes a
    /// tensor's elements from where it starts and records its offset, so an offset view is copied). Another tensor is
    /// not copied (it is written before anything can change it); the handle is kept in <paramref name="copies"/> for disposing.
    /// </summary>
    public static Tensor ForPickle(Tensor tensor, List<Tensor> copies)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var noGrad = no_grad();
        Tensor handle = tensor.detach().cpu().contiguous().DetachFromDisposeScope();
        if (handle.storage_offset() != 0)
        {
            using Tensor view = handle;
            handle = view.clone().DetachFromDisposeScope();
        }

        copies.Add(handle);
        return handle;
    }

    /// <summary>A config value as a weights-only load accepts it: null, bool, int, long, double, string, lists and string-keyed dicts of those.</summary>
    private static object? ConfigForPickle(object? value, string where) => value switch
    {
        null or bool or int or string => value,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        float or double => Convert.ToDouble(value, null),
        IDictionary dict => ConfigDict(dict, where),
        IEnumerable items => new ArrayList(items.Cast<object?>().Select((v, i) => ConfigForPickle(v, $"{where}[{i}]")).ToArray()),
        _ => throw new ArgumentException($"PyTorchCheckpoint.Config: '{where}' is {Written(value)}; only null, bool, 32-bit integers, floating-point numbers, strings, lists and string-keyed dicts of those can be written (torch.load with weights_only=True reads nothing else).", nameof(value)),
    };

    /// <summary>A .NET value, for a message about what cannot be written.</summary>
    private static string Written(object? value) => value is null ? "null" : $"{value} ({value.GetType().Name})";

    private static OrderedDictionary ConfigDict(IDictionary dict, string where)
    {
        var result = new OrderedDictionary();
        foreach (DictionaryEntry entry in dict)
        {
            string key = entry.Key as string ?? throw new ArgumentException($"PyTorchCheckpoint.Config: '{where}' has a key {Written(entry.Key)}; keys must be strings.", nameof(dict));
            result[key] = ConfigForPickle(entry.Value, where == ConfigKey ? key : $"{where}.{key}");
        }

        return result;
    }

    private static List<double> ReadList(PickleDict root, string key, string source, TorchArchive archive) => root[key] switch
    {
        null => [],
        List<object?> list => list.Select((v, i) => Number(v, $"'{key}'[{i}]", source, archive)).ToList(),
        object other => throw TorchArchive.Bad(source, $"'{key}' is {PickleValues.Describe(other)}, not a list of numbers."),
    };

    /// <summary>A Python number, or a tensor of one element (read: its storage is one element too), as a double.</summary>
    public static double Number(object? value, string what, string source, TorchArchive archive) => value switch
    {
        double d => d,
        long l => l,
        bool b => b ? 1 : 0,
        TensorRecord { Count: 1 } record => Scalar(archive.Read(record, what)),
        _ => throw TorchArchive.Bad(source, $"{what} is {PickleValues.Describe(value)}, not a number."),
    };

    private static double Scalar(Tensor tensor)
    {
        using (tensor)
        using (Tensor d = tensor.to_type(ScalarType.Float64))
        {
            return d.item<double>();
        }
    }
}
