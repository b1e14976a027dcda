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
/// The file is a zip container (entries stored, not compressed) and a PyTorch checkpoint
/// (<see cref="PyTorchCheckpointPart"/>: <c>archive/data.pkl</c> with the original trainer's dict, <c>archive/data/N</c>,
/// <c>archive/version</c>, <c>archive/byteorder</c>; the only copy of the weights and the optimizer state) with NewLlm's
/// records under <c>archive/newllm/</c>, which <c>torch.load</c> never reads: <c>manifest.json</c>
/// (<see cref="CheckpointManifest"/>), <c>manifest.sha256</c> (the SHA-256 of <c>manifest.json</c>), <c>rng.bin</c>
/// and, when known, <c>tokenizer.json</c>. Every other record's SHA-256 (by its name under the top folder) is in the
/// manifest. The file is written through <see cref="AtomicFile"/>, so it is either the old file or the whole new one.
/// </para>
/// <para>
/// Reading is bounded by what the manifest declares: a record the manifest does not list is refused before anything is
/// read, every record's declared size is checked (the tensors' together against the model's own size, as the
/// manifest's model options give it), then every record is streamed through its zip CRC-32 and its SHA-256 (the .NET
/// 10 <see cref="ZipArchive"/> checks no CRC), holding only NewLlm's small records in memory. The tensors are read
/// later, straight into the model, through <see cref="PyTorchCheckpoint.Read(Stream, string, NewLlmOptions?)"/>, which
/// checks every shape first. The file stays open (and so unchanged for this reader) until the checkpoint is disposed.
/// </para>
/// <para>
/// <see cref="Restore"/> reads and checks every part against the model and the optimizer first (no staged copies: the
/// weights and Adam's state read from the file are the only extra memory), and only then applies it, so a checkpoint
/// that fails to load leaves the model, the optimizer, the callbacks and the generator as they were.
/// </para>
/// </summary>
internal sealed class TrainingCheckpoint : IDisposable
{
    internal const string ManifestEntry = "manifest.json";
    internal const string ManifestHashEntry = "manifest.sha256";
    internal const string RngEntry = "rng.bin";
    internal const string TokenizerEntry = "tokenizer.json";

    /// <summary>The folder, under the archive's top folder, of NewLlm's own records, which torch.load never asks for.</summary>
    internal const string NewLlmFolder = "newllm/";

    /// <summary>The PyTorch record that holds the checkpoint dict.</summary>
    private const string DataPickle = "data.pkl";

    /// <summary>The manifest's name in the zip.</summary>
    internal const string ManifestZipName = "archive/" + NewLlmFolder + ManifestEntry;

    /// <summary>The manifest hash's name in the zip.</summary>
    internal const string ManifestHashZipName = "archive/" + NewLlmFolder + ManifestHashEntry;

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
        Encoder = ReadableJson.Encoder,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The largest manifest read (a run of thousands of epochs has a manifest of a few megabytes).</summary>
    private const long MaxManifestBytes = 64L << 20;

    /// <summary>The largest data.pkl read, as PyTorchCheckpoint.Read reads it.</summary>
    private const long MaxPickleBytes = 64L << 20;

    /// <summary>The largest stored tokenizer read (a word-level vocabulary of a million words is about 20 MB).</summary>
    private const long MaxTokenizerBytes = 256L << 20;

    /// <summary>What the file may hold besides the model's tensors and Adam's three moments per parameter: the pickle, the small records, the step counts.</summary>
    private const long SlackBytes = 96L << 20;

    private readonly FileStream _file;
    private readonly Dictionary<string, byte[]> _entries;

    private TrainingCheckpoint(string path, FileStream file, CheckpointManifest manifest, byte[] manifestBytes, Dictionary<string, byte[]> entries)
    {
        Path = path;
        _file = file;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
        _entries = entries;
    }

    /// <summary>The file it was read from.</summary>
    public string Path { get; }

    /// <summary>The verified manifest.</summary>
    public CheckpointManifest Manifest { get; }

    /// <summary>The manifest's bytes as read (verified).</summary>
    internal byte[] ManifestBytes { get; }

    /// <summary>NewLlm's own small records (<c>rng.bin</c>, <c>tokenizer.json</c>) as read (verified), by their names under <c>newllm/</c>.</summary>
    internal IReadOnlyDictionary<string, byte[]> Entries => _entries;

    /// <summary>Closes the file.</summary>
    public void Dispose() => _file.Dispose();

    /// <summary>Writes a checkpoint of a run's whole state to <paramref name="path"/> (replaced whole, never torn).</summary>
    public static void Save(string path, CheckpointKind kind, TrainerOptions options, NewLlmModel model, OptimizerHelper optimizer,
        TrainerState state, IEnumerable<ICheckpointStateful> statefulCallbacks, DialogueTokenizer? tokenizer)
    {
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

        // PyTorch's records first, then NewLlm's under newllm/ (torch.load never reads them), the manifest holding every hash.
        using PyTorchCheckpoint part = PyTorchCheckpointPart.Compose(model, optimizer, state, options);
        AtomicFile.Write(path, file => part.Write(file, pyTorchHashes =>
        {
            manifest.EntryHashes = new Dictionary<string, string>(pyTorchHashes, StringComparer.Ordinal);
            foreach ((string name, byte[] bytes) in newLlmEntries)
            {
                manifest.EntryHashes[name] = Sha256(bytes);
            }

            byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, SerializerOptions);
            return
            [
                new(NewLlmFolder + ManifestEntry, manifestBytes),
                new(NewLlmFolder + ManifestHashEntry, System.Text.Encoding.ASCII.GetBytes(Sha256(manifestBytes))),
                .. newLlmEntries,
            ];
        }), flushToDisk: true);
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

        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            (CheckpointManifest manifest, byte[] manifestBytes, Dictionary<string, byte[]> entries) = Verify(path, file);
            return new TrainingCheckpoint(path, file, manifest, manifestBytes, entries);
        }
        catch
        {
            file.Dispose();
            throw;
        }
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
            return !zip.Entries.Any(e => e.FullName.EndsWith("/" + NewLlmFolder + ManifestEntry, StringComparison.Ordinal))
                && zip.Entries.Any(e => e.FullName.EndsWith("/" + DataPickle, StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>A new model with the checkpoint's sizes and weights, on the CPU, in evaluation mode.</summary>
    public NewLlmModel CreateModel()
    {
        var model = new NewLlmModel(Manifest.ModelOptions);
        try
        {
            CheckShape(model.Options);
            model.LoadPyTorch(Rewound(), Path);
            model.eval();
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
    public (TrainerState State, Dictionary<string, JsonNode?> Unclaimed) Restore(NewLlmModel model, OptimizerHelper optimizer,
        IReadOnlyCollection<ICheckpointStateful> statefulCallbacks, DialogueTokenizer? tokenizer)
    {
        if (tokenizer is not null && Manifest.TokenizerFingerprint is string saved && saved != tokenizer.Fingerprint)
        {
            throw new InvalidDataException(
                $"{Path}: the checkpoint was trained with another tokenizer ({Manifest.TokenizerKind}, fingerprint {Short(saved)}) than this run's ({tokenizer.Kind}, fingerprint {Short(tokenizer.Fingerprint)}). Resume with the checkpoint's tokenizer (CheckpointFile.LoadTokenizer).");
        }

        CheckShape(model.Options);

        // Check: the PyTorch part is read (its shapes checked against the manifest's model, which is this model's) and
        // every part is checked against the model and the optimizer; nothing is changed yet.
        using PyTorchCheckpoint part = ReadPyTorchPart();
        Action applyModel = PyTorchCheckpointPart.PrepareModel(part, model, Path);
        Action applyOptimizer = PyTorchCheckpointPart.PrepareOptimizer(part, optimizer, Path);
        using (Tensor generatorNow = torch.random.get_rng_state())
        {
            if (_entries[RngEntry].Length != generatorNow.shape[0])
            {
                throw new InvalidDataException($"{Path}: the random generator state has {_entries[RngEntry].Length} bytes, {generatorNow.shape[0]} expected.");
            }
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

        applyModel();
        applyOptimizer();
        optimizer.to(model.Device);
        using (Tensor generator = torch.tensor(_entries[RngEntry], dtype: ScalarType.Byte))
        {
            torch.random.set_rng_state(generator);
        }

        return (Manifest.State, unclaimed);
    }

    /// <summary>The PyTorch part (weights and Adam's state), its shapes checked against the manifest's model before anything is read.</summary>
    private PyTorchCheckpoint ReadPyTorchPart()
    {
        PyTorchCheckpoint saved = PyTorchCheckpoint.Read(Rewound(), Path, Manifest.ModelOptions);
        if (saved.IsStateDictOnly || saved.Optimizer is null)
        {
            saved.Dispose();
            throw new InvalidDataException($"{Path}: the checkpoint's PyTorch part has no optimizer state dict ('optimizer_state_dict').");
        }

        return saved;
    }

    private FileStream Rewound()
    {
        _file.Position = 0;
        return _file;
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
    /// Verifies the whole file without holding it: the zip's layout, the manifest and its hash, that the manifest lists
    /// exactly the records there are, that their declared sizes fit the manifest's model, and every record's CRC-32
    /// and SHA-256, streamed. Returns the manifest and NewLlm's small records.
    /// </summary>
    private static (CheckpointManifest Manifest, byte[] ManifestBytes, Dictionary<string, byte[]> Entries) Verify(string path, FileStream file)
    {
        Span<byte> head = stackalloc byte[4];
        int read = file.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (read < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
        {
            throw new InvalidDataException(read > 1 && head[0] == 0x80
                ? $"{path}: not a checkpoint NewLlm reads: it looks like PyTorch's legacy (pre-1.6, non-zip) format. Load it in PyTorch and save it again with torch.save(obj, path), whose default has been the zip format since PyTorch 1.6."
                : $"{path}: not a checkpoint: NewLlm's and PyTorch's checkpoints are zip archives, and this file is not one ({(read == 0 ? "it is empty" : "it does not start like a zip archive")}). Give a .pt file written by NewLlm or by torch.save.");
        }

        file.Position = 0;
        try
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            ZipArchiveEntry? manifestEntry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/" + NewLlmFolder + ManifestEntry, StringComparison.Ordinal));
            if (manifestEntry is null)
            {
                throw new InvalidDataException(zip.Entries.Any(e => e.FullName.EndsWith("/" + DataPickle, StringComparison.Ordinal))
                    ? $"{path}: not a NewLlm checkpoint: it is a PyTorch file without NewLlm's '{NewLlmFolder}{ManifestEntry}' (the original trainer's checkpoint, for one). Trainer.LoadCheckpoint resumes from the original's checkpoint; NewLlmModel.FromPyTorch opens its weights."
                    : $"{path}: not a NewLlm checkpoint: the entry '{NewLlmFolder}{ManifestEntry}' is missing.");
            }

            string top = manifestEntry.FullName[..^(NewLlmFolder + ManifestEntry).Length];
            var records = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (!entry.FullName.StartsWith(top, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{entry.FullName}' lies outside the archive's folder '{top}'.");
                }

                if (!records.TryAdd(entry.FullName[top.Length..], entry))
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{entry.FullName}' is there twice.");
                }
            }

            byte[] manifestBytes = ReadWhole(path, manifestEntry, MaxManifestBytes);
            records.Remove(NewLlmFolder + ManifestEntry);
            if (!records.Remove(NewLlmFolder + ManifestHashEntry, out ZipArchiveEntry? hashEntry))
            {
                throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{ManifestHashEntry}' (the SHA-256 of '{ManifestEntry}') is missing. Use another checkpoint of the run or train again.");
            }

            if (System.Text.Encoding.ASCII.GetString(ReadWhole(path, hashEntry, 128)) != Sha256(manifestBytes))
            {
                throw new InvalidDataException(
                    $"{path}: the checkpoint is corrupted: '{ManifestEntry}' does not match its SHA-256 in '{ManifestHashEntry}' (it was changed after it was written, perhaps edited by hand). Use another checkpoint of the run (best_, _epoch_ or _final file) or train again; a manifest cannot be edited.");
            }

            CheckpointManifest manifest = ParseManifest(path, manifestBytes);
            try
            {
                manifest.ModelOptions.Validate();
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException ex)
            {
                throw new InvalidDataException($"{path}: the checkpoint's model options are invalid: {ex.Message}", ex);
            }

            CheckState(path, manifest.State);
            CheckListedAndSized(path, manifest, records);
            var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach ((string name, ZipArchiveEntry entry) in records)
            {
                // NewLlm's small records are kept (their sizes were checked above), PyTorch's only hashed.
                using MemoryStream? kept = name.StartsWith(NewLlmFolder, StringComparison.Ordinal) ? new MemoryStream((int)entry.Length) : null;
                string hash = StreamHash(path, entry, kept);
                if (kept is not null)
                {
                    entries[name[NewLlmFolder.Length..]] = kept.ToArray();
                }

                if (manifest.EntryHashes[name] != hash)
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' does not match its SHA-256 in the manifest.");
                }
            }

            foreach (string required in new[] { DataPickle, RngEntry })
            {
                if (!records.ContainsKey(required) && !entries.ContainsKey(required))
                {
                    throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{(required == RngEntry ? NewLlmFolder + RngEntry : required)}' is missing.");
                }
            }

            return (manifest, manifestBytes, entries);
        }
        catch (InvalidDataException ex) when (ex.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: not a readable NewLlm checkpoint (truncated or corrupted?): {ex.Message}", ex);
        }
    }

    /// <summary>Refuses a trainer state no run can have (a manifest whose hash was recomputed after an edit).</summary>
    private static void CheckState(string path, TrainerState state)
    {
        string? wrong = state.BatchesIntoEpoch < 0 ? $"batches_into_epoch {state.BatchesIntoEpoch}"
            : state.GlobalStep < 0 ? $"global_step {state.GlobalStep}"
            : state.History.Select((r, i) => r.Epoch == i + 1 ? null : $"history record {i + 1} is of epoch {r.Epoch}").FirstOrDefault(w => w is not null)
            ?? (state.BestEpoch < 0 || state.BestEpoch > state.CompletedEpochs ? $"best_epoch {state.BestEpoch} of {state.CompletedEpochs} completed" : null);
        if (wrong is not null)
        {
            throw new InvalidDataException($"{path}: the checkpoint's trainer state is impossible ({wrong}): the manifest was edited. Use another checkpoint of the run or train again.");
        }
    }

    /// <summary>
    /// Refuses, before any record is read, a record the manifest does not list (or one it lists that is missing), and
    /// declared sizes beyond what the manifest's model needs: the tensors together at most four times its parameters
    /// (weights and Adam's moments) plus <see cref="SlackBytes"/>, and no tensor record larger than its largest parameter.
    /// </summary>
    private static void CheckListedAndSized(string path, CheckpointManifest manifest, Dictionary<string, ZipArchiveEntry> records)
    {
        foreach (string name in records.Keys)
        {
            if (!manifest.EntryHashes.ContainsKey(name))
            {
                throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' ({records[name].Length} bytes) is not listed in its manifest, so it was not written with it. Use another checkpoint of the run or train again.");
            }
        }

        foreach (string name in manifest.EntryHashes.Keys)
        {
            if (!records.ContainsKey(name))
            {
                throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{name}' is missing.");
            }
        }

        NewLlmOptions model = manifest.ModelOptions;
        long parameterBytes = checked(model.ParameterCount * sizeof(float));
        // The largest parameter: the embedding or output layer [V, E] / [V, H], the first layer [H, E + C], a further layer [H, H]
        // (the heads [C, H] are never larger than the first layer), counted in 8-byte elements to leave room.
        long v = model.VocabSize, e = model.EmbedDim, h = model.HiddenDim, c = model.ContextDim;
        long largest = checked(new[] { v * e, v * h, h * (e + c), model.NumLayers > 1 ? h * h : 0 }.Max() * sizeof(double));
        long budget = checked((4 * parameterBytes) + SlackBytes);
        long total = 0;
        foreach ((string name, ZipArchiveEntry entry) in records)
        {
            long limit = name.StartsWith("data/", StringComparison.Ordinal) ? largest
                : name == DataPickle ? MaxPickleBytes
                : name.StartsWith(NewLlmFolder, StringComparison.Ordinal) ? MaxTokenizerBytes
                : 64;
            if (entry.Length > limit)
            {
                throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' declares {entry.Length} bytes, more than the {limit} it can hold for a model with {Shape(model)}. Use another checkpoint of the run or train again.");
            }

            total = checked(total + entry.Length);
        }

        if (total > budget)
        {
            throw new InvalidDataException($"{path}: the checkpoint is corrupted: its records declare {total} bytes, more than the {budget} a model with {Shape(model)} and its optimizer state need. Use another checkpoint of the run or train again.");
        }
    }

    /// <summary>A small record's bytes (its declared size at most <paramref name="limit"/>), checked as <see cref="StreamHash"/> checks them.</summary>
    private static byte[] ReadWhole(string path, ZipArchiveEntry entry, long limit)
    {
        if (entry.Length > limit)
        {
            throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{entry.FullName}' declares {entry.Length} bytes, more than the {limit} it may have.");
        }

        using var bytes = new MemoryStream((int)entry.Length);
        StreamHash(path, entry, bytes);
        return bytes.ToArray();
    }

    /// <summary>A record's SHA-256 (hex), streamed through a 1 MiB buffer (and into <paramref name="copy"/>), its length and CRC-32 checked on the way.</summary>
    private static string StreamHash(string path, ZipArchiveEntry entry, Stream? copy = null)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var crc = new System.IO.Hashing.Crc32();
        byte[] buffer = new byte[1 << 20];
        long total = 0;
        using (Stream stream = entry.Open())
        {
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                total += n;
                if (total > entry.Length)
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{entry.FullName}' holds more than its declared {entry.Length} bytes.");
                }

                sha.AppendData(buffer, 0, n);
                crc.Append(buffer.AsSpan(0, n));
                copy?.Write(buffer, 0, n);
            }
        }

        if (total != entry.Length)
        {
            throw new InvalidDataException($"{path}: the checkpoint is truncated: entry '{entry.FullName}' has {total} bytes, {entry.Length} expected.");
        }

        if (crc.GetCurrentHashAsUInt32() != entry.Crc32)
        {
            throw new InvalidDataException($"{path}: entry '{entry.FullName}' does not match its zip CRC-32: the file is corrupted. Use another checkpoint of the run or train again.");
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
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
            if (version != CheckpointManifest.CurrentVersion)
            {
                throw new InvalidDataException($"{path}: checkpoint version {version} is not supported (this library reads version {CheckpointManifest.CurrentVersion}, the first it released).");
            }

            manifest = node.Deserialize<CheckpointManifest>(SerializerOptions);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: the checkpoint manifest is corrupted: {ex.Message}", ex);
        }

        return manifest ?? throw new InvalidDataException($"{path}: the checkpoint manifest is empty.");
    }

    internal static string Shape(NewLlmOptions o) =>
        $"vocab {o.VocabSize}, embed {o.EmbedDim}, hidden {o.HiddenDim}, context {o.ContextDim}, layers {o.NumLayers}";

    private static string Short(string fingerprint) => fingerprint.Length > 12 ? fingerprint[..12] : fingerprint;

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
