using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NewLlm.Training;

/// <summary>
/// Everything that goes into or comes out of a training checkpoint, written and read here only: the model weights,
/// the optimizer state (Adam's moments and step counts), torch's CPU generator state, the <see cref="TrainerState"/>,
/// the states of <see cref="ICheckpointStateful"/> callbacks, the options' description and the tokenizer.
/// <para>
/// The file is a zip container (entries stored, not compressed). Since version 4 it is a PyTorch checkpoint
/// (<see cref="PyTorchCheckpointPart"/>: <c>archive/data.pkl</c> with the original trainer's dict, <c>archive/data/N</c>,
/// <c>archive/version</c>, <c>archive/byteorder</c>; the only copy of the weights and the optimizer state) with NewLlm's
/// records under <c>archive/newllm/</c>, which <c>torch.load</c> never reads: <c>manifest.json</c>
/// (<see cref="CheckpointManifest"/>), <c>manifest.sha256</c> (the SHA-256 of <c>manifest.json</c>, since version 3),
/// <c>rng.bin</c> and, when known, <c>tokenizer.json</c>. Versions 1 to 3 have those at the zip's root, with
/// <c>model.bin</c> (TorchSharp module state) and <c>optimizer.bin</c> instead of the PyTorch part; they still load.
/// Every other entry's SHA-256 (by its name under the top folder) is in the manifest. On reading, every entry's zip CRC-32 is checked (the .NET 10 <see cref="ZipArchive"/> does not: it
/// checks CRCs only from .NET 11), then the manifest against its hash, then every entry against the manifest, before
/// anything is used; so a changed byte anywhere in the file is refused, or lies in a part that is never read. Version 2
/// files (no manifest hash) still load: their manifest is protected by the zip CRC alone, which catches corruption but
/// not a deliberate edit that recomputes it. The file is written through <see cref="AtomicFile"/>, so it is either the
/// old file or the whole new one.
/// </para>
/// <para>
/// <see cref="Restore"/> validates and reads everything first (into a staged model and optimizer), and only then applies
/// it, so a checkpoint that fails to load leaves the model, the optimizer, the callbacks and the generator as they were.
/// </para>
/// </summary>
internal sealed class TrainingCheckpoint
{
    internal const string ManifestEntry = "manifest.json";
    internal const string ManifestHashEntry = "manifest.sha256";
    internal const string ModelEntry = "model.bin";
    internal const string OptimizerEntry = "optimizer.bin";
    internal const string RngEntry = "rng.bin";
    internal const string TokenizerEntry = "tokenizer.json";

    /// <summary>Where NewLlm's own records lie under the archive's top folder since version 4.</summary>
    internal const string NewLlmFolder = PyTorchCheckpointPart.NewLlmFolder;

    /// <summary>The top folder of the archive since version 4 (PyTorch's layout: every record under one folder).</summary>
    private const string Top = PyTorchCheckpointPart.ArchiveFolder + "/";

    /// <summary>The manifest's name in the zip since version 4.</summary>
    internal const string ManifestZipName = Top + NewLlmFolder + ManifestEntry;

    /// <summary>The manifest hash's name in the zip since version 4.</summary>
    internal const string ManifestHashZipName = Top + NewLlmFolder + ManifestHashEntry;

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
        Encoder = ReadableJson.Encoder,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly IReadOnlyDictionary<string, byte[]> _entries;
    private readonly byte[] _file;
    private readonly bool _pyTorchLayout;

    private TrainingCheckpoint(string path, CheckpointManifest manifest, byte[] manifestBytes, IReadOnlyDictionary<string, byte[]> entries, byte[] file)
    {
        Path = path;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
        _entries = entries;
        _file = file;
        _pyTorchLayout = entries.ContainsKey(PyTorchCheckpointPart.DataPickle);
    }

    /// <summary>The file it was read from.</summary>
    public string Path { get; }

    /// <summary>The verified manifest.</summary>
    public CheckpointManifest Manifest { get; }

    /// <summary>The manifest's bytes as read (verified).</summary>
    internal byte[] ManifestBytes { get; }

    /// <summary>The other entries' bytes as read (verified), by name; the manifest hash is not among them.</summary>
    internal IReadOnlyDictionary<string, byte[]> Entries => _entries;

    /// <summary>Writes a checkpoint of a run's whole state to <paramref name="path"/> (replaced whole, never torn).</summary>
    public static void Save(string path, CheckpointKind kind, TrainerOptions options, NewLlmModel model, OptimizerHelper optimizer,
        TrainerState state, IEnumerable<ICheckpointStateful> statefulCallbacks, DialogueTokenizer? tokenizer)
    {
        // Names under the archive's top folder: PyTorch's records, then NewLlm's under newllm/ (torch.load never reads them).
        // The PyTorch records are copied into the file from the pickled archive, hashed on the way, so the tensors are
        // held once in memory besides the model's own.
        using PyTorchRecords records = PyTorchCheckpointPart.Write(model, optimizer, state, options);
        var newLlmEntries = new List<KeyValuePair<string, byte[]>>();
        using (Tensor rng = torch.random.get_rng_state())
        {
            newLlmEntries.Add(new(NewLlmFolder + RngEntry, rng.data<byte>().ToArray()));
        }

        if (tokenizer is not null)
        {
            using var stream = new MemoryStream();
            tokenizer.Save(stream);
            newLlmEntries.Add(new(NewLlmFolder + TokenizerEntry, stream.ToArray()));
        }

        var manifest = new CheckpointManifest
        {
            CreatedUtc = DateTimeOffset.UtcNow,
            Kind = kind,
            ModelName = options.ModelName,
            ModelOptions = model.Options.Clone(),
            TrainerOptions = options.Describe(),
            State = state,
            TokenizerKind = tokenizer?.Kind,
            TokenizerFingerprint = tokenizer?.Fingerprint,
        };
        foreach (ICheckpointStateful stateful in statefulCallbacks)
        {
            manifest.CallbackStates[stateful.StateKey] = stateful.SaveState();
        }

        AtomicFile.Write(
            path,
            file =>
            {
                using var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
                var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (string name in records.Names)
                {
                    using Stream source = records.Open(name);
                    hashes[name] = AddEntry(zip, Top + name, source);
                }

                foreach ((string name, byte[] bytes) in newLlmEntries)
                {
                    hashes[name] = Sha256(bytes);
                }

                manifest.EntryHashes = hashes;
                byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, SerializerOptions);
                AddEntry(zip, Top + NewLlmFolder + ManifestEntry, manifestBytes);
                AddEntry(zip, Top + NewLlmFolder + ManifestHashEntry, System.Text.Encoding.ASCII.GetBytes(Sha256(manifestBytes)));
                foreach ((string name, byte[] bytes) in newLlmEntries)
                {
                    AddEntry(zip, Top + name, bytes);
                }
            },
            flushToDisk: true);
    }

    /// <summary>Reads a checkpoint and verifies its zip CRCs, format, version, manifest hash, entries and hashes, and its model options.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, or is truncated or corrupted.</exception>
    public static TrainingCheckpoint Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            string[] checkpoints = [.. Directory.EnumerateFiles(path, "*.pt").Select(f => System.IO.Path.GetFileName(f)).Order(StringComparer.Ordinal)];
            throw new FileNotFoundException(
                $"Checkpoint '{path}' is a folder, not a checkpoint file: give one of the checkpoint files in it"
                + (checkpoints.Length == 0 ? " (it holds none)." : $" ({string.Join(", ", checkpoints)}; a run continues from its _final.pt or _interrupted.pt)."),
                path);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        }

        (byte[]? manifestBytes, Dictionary<string, byte[]> entries, byte[] file, bool pyTorchLayout) = ReadEntries(path);
        if (manifestBytes is null)
        {
            throw new InvalidDataException(entries.Keys.Any(k => k.EndsWith(PyTorchCheckpointPart.DataPickle, StringComparison.Ordinal))
                ? $"{path}: not a NewLlm checkpoint: it is a PyTorch file without NewLlm's '{NewLlmFolder}{ManifestEntry}' (the original trainer's checkpoint, for one). Trainer.LoadCheckpoint resumes from the original's checkpoint; NewLlmModel.FromPyTorch opens its weights."
                : $"{path}: not a NewLlm checkpoint: the entry '{ManifestEntry}' is missing.");
        }

        bool hashed = entries.Remove(ManifestHashEntry, out byte[]? manifestHash);
        if (hashed && System.Text.Encoding.ASCII.GetString(manifestHash!) != Sha256(manifestBytes))
        {
            throw new InvalidDataException(
                $"{path}: the checkpoint is corrupted: '{ManifestEntry}' does not match its SHA-256 in '{ManifestHashEntry}' (it was changed after it was written, perhaps edited by hand). Use another checkpoint of the run (best_, _epoch_ or _final file) or train again; a manifest cannot be edited.");
        }

        CheckpointManifest manifest = ParseManifest(path, manifestBytes);
        if (!hashed && manifest.Version >= 3)
        {
            throw new InvalidDataException(
                $"{path}: the checkpoint is incomplete: entry '{ManifestHashEntry}' (the SHA-256 of '{ManifestEntry}', required since version 3) is missing. Use another checkpoint of the run or train again.");
        }
        if (manifest.Version >= 4 && !pyTorchLayout)
        {
            throw new InvalidDataException($"{path}: the checkpoint is corrupted: its manifest says version {manifest.Version}, but its records are laid out as in versions 1 to 3 (no PyTorch part).");
        }

        string[] requiredEntries = pyTorchLayout ? [PyTorchCheckpointPart.DataPickle, NewLlmFolder + RngEntry] : [ModelEntry, OptimizerEntry, RngEntry];
        foreach (string required in requiredEntries)
        {
            if (!entries.ContainsKey(required))
            {
                throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{required}' is missing.");
            }
        }

        foreach ((string name, byte[] bytes) in entries)
        {
            if (!manifest.EntryHashes.TryGetValue(name, out string? expected) || expected != Sha256(bytes))
            {
                throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' does not match its SHA-256 in the manifest.");
            }
        }

        try
        {
            manifest.ModelOptions.Validate();
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            throw new InvalidDataException($"{path}: the checkpoint's model options are invalid: {ex.Message}", ex);
        }

        // NewLlm's own records by their plain names, as in versions 1 to 3 (the hashes above were checked by full name).
        Dictionary<string, byte[]> byName = entries.ToDictionary(
            kv => kv.Key.StartsWith(NewLlmFolder, StringComparison.Ordinal) ? kv.Key[NewLlmFolder.Length..] : kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new TrainingCheckpoint(path, manifest, manifestBytes, byName, file);
    }

    /// <summary>
    /// Whether the file is a PyTorch checkpoint that NewLlm did not write (no NewLlm manifest, but a <c>data.pkl</c>):
    /// the original trainer's, for one. Anything unreadable is not (it goes to <see cref="Read"/> for its message).
    /// </summary>
    public static bool IsForeignPyTorchFile(string path)
    {
        try
        {
            using FileStream file = File.OpenRead(path);
            using var zip = new ZipArchive(file, ZipArchiveMode.Read);
            return !zip.Entries.Any(e => e.FullName == ManifestEntry || e.FullName.EndsWith("/" + NewLlmFolder + ManifestEntry, StringComparison.Ordinal))
                && zip.Entries.Any(e => e.FullName.EndsWith("/" + PyTorchCheckpointPart.DataPickle, StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>A new model with the checkpoint's sizes and weights, on the CPU.</summary>
    public NewLlmModel CreateModel()
    {
        var model = new NewLlmModel(Manifest.ModelOptions);
        try
        {
            LoadWeights(model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The stored tokenizer, or null when none was stored.</summary>
    public DialogueTokenizer? ReadTokenizer()
    {
        if (!_entries.TryGetValue(TokenizerEntry, out byte[]? bytes))
        {
            return null;
        }

        using var stream = new MemoryStream(bytes, writable: false);
        return DialogueTokenizer.Load(stream);
    }

    /// <summary>
    /// Restores a run from the checkpoint: validates and stages everything, then puts the weights into
    /// <paramref name="model"/>, the optimizer state into <paramref name="optimizer"/>, the callbacks' states into the
    /// <paramref name="statefulCallbacks"/> that claim them, and the generator state into torch; returns the saved
    /// <see cref="TrainerState"/> and the callback states no callback claimed. On any failure nothing is changed.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint does not fit (shape, tokenizer) or a part of it cannot be loaded.</exception>
    public (TrainerState State, Dictionary<string, JsonNode?> Unclaimed) Restore(NewLlmModel model, OptimizerHelper optimizer, Func<NewLlmModel, OptimizerHelper> createOptimizer,
        IReadOnlyCollection<ICheckpointStateful> statefulCallbacks, DialogueTokenizer? tokenizer)
    {
        if (tokenizer is not null && Manifest.TokenizerFingerprint is string saved && saved != tokenizer.Fingerprint)
        {
            throw new InvalidDataException(
                $"{Path}: the checkpoint was trained with another tokenizer ({Manifest.TokenizerKind}, fingerprint {Short(saved)}) than this run's ({tokenizer.Kind}, fingerprint {Short(tokenizer.Fingerprint)}). Resume with the checkpoint's tokenizer (CheckpointFile.LoadTokenizer).");
        }

        CheckShape(model.Options);

        // Stage: every part is read into scratch objects first. Building the scratch model draws from torch's
        // generator, so its state is put back whether staging succeeds or not.
        using Tensor generatorBefore = torch.random.get_rng_state();
        using NewLlmModel staged = new(Manifest.ModelOptions);
        try
        {
            LoadWeights(staged);
            using OptimizerHelper stagedOptimizer = createOptimizer(staged);
            LoadOptimizer(stagedOptimizer);
            if (_entries[RngEntry].Length != generatorBefore.shape[0])
            {
                throw new InvalidDataException($"{Path}: the random generator state has {_entries[RngEntry].Length} bytes, {generatorBefore.shape[0]} expected.");
            }
        }
        finally
        {
            torch.random.set_rng_state(generatorBefore);
        }

        // Apply: callback states first (the only step that can still fail, and it is rolled back), then the rest.
        var unclaimed = new Dictionary<string, JsonNode?>(Manifest.CallbackStates, StringComparer.Ordinal);
        var applied = new List<(ICheckpointStateful Callback, JsonNode Before)>();
        foreach (ICheckpointStateful stateful in statefulCallbacks)
        {
            if (!unclaimed.Remove(stateful.StateKey, out JsonNode? state) || state is null)
            {
                continue;
            }

            JsonNode before = stateful.SaveState();
            try
            {
                stateful.LoadState(state.DeepClone());
                applied.Add((stateful, before));
            }
            catch (Exception ex)
            {
                foreach ((ICheckpointStateful callback, JsonNode previous) in applied)
                {
                    callback.LoadState(previous);
                }

                throw new InvalidDataException($"{Path}: the state saved under '{stateful.StateKey}' cannot be loaded into {stateful.GetType().Name}: {ex.Message}", ex);
            }
        }

        using (torch.no_grad())
        {
            Dictionary<string, Tensor> target = model.state_dict();
            foreach ((string name, Tensor value) in staged.state_dict())
            {
                target[name].copy_(value);
            }
        }

        LoadOptimizer(optimizer);
        optimizer.to(model.Device);
        using (Tensor generator = torch.tensor(_entries[RngEntry], dtype: ScalarType.Byte))
        {
            torch.random.set_rng_state(generator);
        }

        return (Manifest.State, unclaimed);
    }

    private void LoadWeights(NewLlmModel model)
    {
        CheckShape(model.Options);
        if (_pyTorchLayout)
        {
            WithPyTorchPart(root => PyTorchCheckpointPart.LoadModel(root, model, Path));
            return;
        }

        try
        {
            using var stream = new MemoryStream(_entries[ModelEntry], writable: false);
            using var reader = new BinaryReader(stream);
            model.load(reader, strict: true);
        }
        catch (Exception ex) when (ex is not InvalidDataException)
        {
            throw new InvalidDataException($"{Path}: the model weights cannot be loaded: {ex.Message}", ex);
        }
    }

    private void LoadOptimizer(OptimizerHelper optimizer)
    {
        if (_pyTorchLayout)
        {
            WithPyTorchPart(root => PyTorchCheckpointPart.LoadOptimizer(root, optimizer, Path));
            return;
        }

        try
        {
            using var stream = new MemoryStream(_entries[OptimizerEntry], writable: false);
            using var reader = new BinaryReader(stream);
            optimizer.load_state_dict(reader);
        }
        catch (Exception ex) when (ex is not InvalidDataException)
        {
            throw new InvalidDataException($"{Path}: the optimizer state cannot be restored: {ex.Message}", ex);
        }
    }

    /// <summary>Unpickles the (verified) PyTorch part, runs <paramref name="use"/> on it, and frees its tensors.</summary>
    private void WithPyTorchPart(Action<System.Collections.Hashtable> use)
    {
        System.Collections.Hashtable root;
        try
        {
            root = PyTorchCheckpointPart.Read(_file);
        }
        catch (Exception ex) when (ex is not InvalidDataException)
        {
            throw new InvalidDataException($"{Path}: the checkpoint's PyTorch part ({PyTorchCheckpointPart.DataPickle}) cannot be read: {ex.Message}", ex);
        }

        try
        {
            use(root);
        }
        finally
        {
            foreach (Tensor tensor in PyTorchCheckpointPart.Tensors(root))
            {
                tensor.Dispose();
            }
        }
    }

    private void CheckShape(NewLlmOptions own)
    {
        NewLlmOptions saved = Manifest.ModelOptions;
        if (saved.VocabSize != own.VocabSize || saved.EmbedDim != own.EmbedDim || saved.HiddenDim != own.HiddenDim
            || saved.ContextDim != own.ContextDim || saved.NumLayers != own.NumLayers)
        {
            throw new InvalidDataException(
                $"{Path}: the checkpoint holds a model of another shape ({Shape(saved)}) than the model given ({Shape(own)}). Create the model from the checkpoint's options (CheckpointFile.ReadManifest(path).ModelOptions).");
        }
    }

    /// <summary>
    /// Every entry's bytes, CRC-checked, by name: the zip name in versions 1 to 3, the name under the top folder in
    /// version 4 (whose manifest and its hash come back under their plain names); and whether it is version 4's layout.
    /// </summary>
    private static (byte[]? Manifest, Dictionary<string, byte[]> Entries, byte[] File, bool PyTorchLayout) ReadEntries(string path)
    {
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        byte[]? manifestBytes = null;
        byte[] fileBytes;
        string? top = null;
        try
        {
            fileBytes = File.ReadAllBytes(path);
            if (fileBytes.Length < 4 || fileBytes[0] != (byte)'P' || fileBytes[1] != (byte)'K')
            {
                throw new InvalidDataException(fileBytes.Length > 1 && fileBytes[0] == 0x80
                    ? $"{path}: not a checkpoint NewLlm reads: it looks like PyTorch's legacy (pre-1.6, non-zip) format. Load it in PyTorch and save it again with torch.save(obj, path), whose default has been the zip format since PyTorch 1.6."
                    : $"{path}: not a checkpoint: NewLlm's and PyTorch's checkpoints are zip archives, and this file is not one ({(fileBytes.Length == 0 ? "it is empty" : "it does not start like a zip archive")}). Give a .pt file written by NewLlm or by torch.save.");
            }

            using var zip = new ZipArchive(new MemoryStream(fileBytes, writable: false), ZipArchiveMode.Read);
            string first = zip.Entries.Count > 0 ? zip.Entries[0].FullName : string.Empty;
            int slash = first.IndexOf('/', StringComparison.Ordinal);
            if (zip.GetEntry(ManifestEntry) is null && slash > 0 && zip.GetEntry(first[..(slash + 1)] + NewLlmFolder + ManifestEntry) is not null)
            {
                top = first[..(slash + 1)];
            }

            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                using Stream stream = entry.Open();
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                if (buffer.Length != entry.Length)
                {
                    throw new InvalidDataException($"entry '{entry.FullName}' has {buffer.Length} bytes, {entry.Length} expected");
                }

                byte[] bytes = buffer.ToArray();
                if (System.IO.Hashing.Crc32.HashToUInt32(bytes) != entry.Crc32)
                {
                    throw new InvalidDataException($"entry '{entry.FullName}' does not match its zip CRC-32: the file is corrupted. Use another checkpoint of the run or train again");
                }

                string name = entry.FullName;
                if (top is not null)
                {
                    name = name.StartsWith(top, StringComparison.Ordinal) ? name[top.Length..] : throw new InvalidDataException($"entry '{name}' lies outside the archive's folder '{top}'");
                    name = name == NewLlmFolder + ManifestEntry ? ManifestEntry : name == NewLlmFolder + ManifestHashEntry ? ManifestHashEntry : name;
                }

                if (name == ManifestEntry)
                {
                    manifestBytes = manifestBytes is null ? bytes : throw new InvalidDataException($"entry '{ManifestEntry}' is there twice");
                }
                else if (!entries.TryAdd(name, bytes))
                {
                    throw new InvalidDataException($"entry '{entry.FullName}' is there twice");
                }
            }
        }
        catch (InvalidDataException ex) when (ex.Message.StartsWith($"{path}: not a checkpoint", StringComparison.Ordinal))
        {
            throw;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: not a readable NewLlm checkpoint (truncated or corrupted?): {ex.Message}", ex);
        }

        return (manifestBytes, entries, fileBytes, top is not null);
    }

    private static CheckpointManifest ParseManifest(string path, byte[] bytes)
    {
        CheckpointManifest? manifest;
        try
        {
            JsonNode? node = JsonNode.Parse(bytes);
            if (node?["format"]?.GetValue<string>() != CheckpointManifest.FormatName)
            {
                throw new InvalidDataException($"{path}: not a NewLlm training checkpoint (format '{node?["format"]}').");
            }

            int version = node["version"]?.GetValue<int>() ?? 0;
            if (version == 1)
            {
                UpgradeFromVersion1(node.AsObject());
            }
            else if (version is < 1 or > CheckpointManifest.CurrentVersion)
            {
                throw new InvalidDataException($"{path}: checkpoint version {version} is not supported (this library reads versions 1 to {CheckpointManifest.CurrentVersion}).");
            }

            manifest = node.Deserialize<CheckpointManifest>(SerializerOptions);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: the checkpoint manifest is corrupted: {ex.Message}", ex);
        }

        return manifest ?? throw new InvalidDataException($"{path}: the checkpoint manifest is empty.");
    }

    /// <summary>Version 1 kept the early-stopping counter in the trainer state; version 2 keeps it in <see cref="EarlyStopping"/>'s callback state.</summary>
    private static void UpgradeFromVersion1(JsonObject manifest)
    {
        JsonObject callbackStates = manifest["callback_states"] as JsonObject ?? new JsonObject();
        manifest["callback_states"] = callbackStates;
        if (manifest["state"] is JsonObject state && !callbackStates.ContainsKey("early-stopping"))
        {
            callbackStates["early-stopping"] = new JsonObject
            {
                ["reference"] = state["early_stopping_reference"]?.DeepClone(),
                ["epochs_without_improvement"] = state["epochs_without_improvement"]?.DeepClone(),
            };
        }

        manifest["version"] = 2; // the layout of version 2; version 3 only adds the manifest hash entry
    }

    internal static string Shape(NewLlmOptions o) =>
        $"vocab {o.VocabSize}, embed {o.EmbedDim}, hidden {o.HiddenDim}, context {o.ContextDim}, layers {o.NumLayers}";

    private static string Short(string fingerprint) => fingerprint.Length > 12 ? fingerprint[..12] : fingerprint;

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static byte[] ToBytes(Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(writer);
        }

        return stream.ToArray();
    }

    private static void AddEntry(ZipArchive zip, string name, byte[] bytes)
    {
        ZipArchiveEntry entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using Stream stream = entry.Open();
        stream.Write(bytes);
    }

    /// <summary>Copies <paramref name="source"/> into a new entry; returns its SHA-256 (hex).</summary>
    private static string AddEntry(ZipArchive zip, string name, Stream source)
    {
        ZipArchiveEntry entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using Stream stream = entry.Open();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        int read;
        while ((read = source.Read(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            stream.Write(buffer, 0, read);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
