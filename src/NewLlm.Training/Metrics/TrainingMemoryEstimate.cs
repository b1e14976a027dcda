namespace NewLlm.Training;

/// <summary>
/// The memory one training step takes, estimated from the model's sizes, the batch size and the sequence length, so
/// that a configuration that cannot fit is refused before any data is prepared or any step is taken (the
/// <see cref="Trainer"/> checks it in its constructor; a program can call <see cref="ForStep(LanguageModel, int, int, TrainingPrecision)"/> earlier).
/// <para>
/// With N = batch × (sequence length − 1) positions, V the vocabulary, E, H, C the widths, L the layers and s the element
/// size, it counts: one loss chunk's logits (k·V·s, k = <see cref="NewLlmLoss.ChunkPositions"/>) and the output layer's
/// gradients and their scaled copy (2·V·(H + 1)·s); what the backward keeps per position (N·(L·H + 4·C)·s), the
/// embedding's share (N·(E + 2·H)·s, or per-thread [V, H] gradient sums), the gradients of the hidden states and the
/// output layer's input (2·N·H·s) and the token ids (4·N·8 bytes); and the parameters, their gradients and Adam's two
/// moments (4·P·s). It leaves out the process (about 0.15 GB) and the corpora. Against the benchmark's peak resident set
/// (1 layer, 128 tokens, 2026-12-04): V 50,257, batch 64: 1.02 GB estimated, 1.29 GB peak; batch 2048 in bf16 mixed
/// precision: 4.10 GB, 4.29 GB; V 1,000, batch 256: 0.39 GB, 0.59 GB. Deep and wide models at 256 tokens, V 1,000
/// (2026-12-07, 2-vCPU AMD EPYC, the benchmark's <c>--memory</c> mode; estimate against the peak less the process's
/// 0.15 GB before the model): 8 layers, C 512, batch 32: 347 MB, 419 MB; 12 layers, C 1,024, batch 32: 531 MB, 614 MB;
/// batch 128: 1,635 MB, 1,764 MB (8 layers, C 512: 1,050 MB, 1,120 MB); so within 17% below, as at 1 layer (0.89).
/// </para>
/// </summary>
public sealed class TrainingMemoryEstimate
{
    private const long SpanLimit = int.MaxValue;
    private readonly object _model; // NewLlmOptions or TransformerBaselineOptions, validated copies
    private readonly ScalarType _dtype;
    private readonly TrainingPrecision _precision;

    private TrainingMemoryEstimate(object model, int batchSize, int sequenceLength, ScalarType dtype, TrainingPrecision precision)
    {
        _model = model;
        _dtype = dtype;
        _precision = precision;
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
        long s = ElementSize(dtype);
        long n = (long)batchSize * (sequenceLength - 1);
        Positions = n;
        if (model is TransformerBaselineOptions baseline)
        {
            // The baseline (an estimate from its shapes, not fitted to measurements): per position and block what the
            // backward keeps (QKV 3E, attention output, projection, residuals, LayerNorms and dropout masks about 5E; the FFN
            // 3H), the attention weights and their dropout mask [B, heads, T, T] per block, the embeddings and ln_f (3E).
            long ve = baseline.VocabSize, e = baseline.EmbedDim, hb = baseline.HiddenDim, lb = baseline.NumLayers, t = sequenceLength - 1;
            long chunkB = NewLlmLoss.ChunkPositions(n, ve, s);
            double lowB = precision == TrainingPrecision.BFloat16Mixed ? ((2.0 * ve * e) + ((double)chunkB * ve)) * 2 : 0;
            LogitsBytes = Saturate(((double)chunkB * ve * s) + (2.0 * ve * (e + 1) * s) + lowB);
            ActivationBytes = Saturate(((double)n * ((lb * ((8 * e) + (3 * hb))) + (3 * e)) * s) + (2.0 * lb * batchSize * baseline.NumHeads * t * t * s) + (4.0 * n * sizeof(long)));
            ParameterBytes = 4 * baseline.ParameterCount * s;
            TotalBytes = Saturate((double)LogitsBytes + ActivationBytes + ParameterBytes);
            LargestBufferBytes = Saturate((double)n * Math.Max(3 * e, hb) * s);
            return;
        }

        var newLlm = (NewLlmOptions)model;
        long v = newLlm.VocabSize, ne = newLlm.EmbedDim, h = newLlm.HiddenDim, c = newLlm.ContextDim, l = newLlm.NumLayers;
        long parameters = newLlm.ParameterCount;
        long threads = Environment.ProcessorCount;
        // Per row thread: its weight-gradient sums, and (in mixed precision; counted always) the slots of a block of positions' products (about 512 rows; Core's WeightGradientBlock).
        long threadSums = threads * ((3 * c * h) + (h * c) + ((l - 1) * h * h) + (v < n ? v * h : 0) + (512 * ((4 * c) + (2 * l * h)))) * s;
        long embedding = v < n ? 2 * v * h * s : n * (ne + (2 * h)) * s;
        long chunk = NewLlmLoss.ChunkPositions(n, v, s);
        double lowBuffers = precision == TrainingPrecision.BFloat16Mixed ? ((v * h) + ((double)chunk * v) + (256 * 1024)) * 2 : 0;
        LogitsBytes = Saturate(((double)chunk * v * s) + (2.0 * v * (h + 1) * s) + lowBuffers);
        ActivationBytes = Saturate(((double)n * ((l * h) + (4 * c) + (2 * h)) * s) + embedding + threadSums + (4.0 * n * sizeof(long)));
        ParameterBytes = 4 * parameters * s;
        TotalBytes = Saturate((double)LogitsBytes + ActivationBytes + ParameterBytes);
        LargestBufferBytes = Saturate((double)n * Math.Max(h, 3 * c) * s);
    }

    /// <summary>Sequences per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Tokens per sequence (the corpus's <see cref="TokenizedCorpus.SequenceLength"/>; a step predicts one position fewer).</summary>
    public int SequenceLength { get; }

    /// <summary>Positions per step: <see cref="BatchSize"/> × (<see cref="SequenceLength"/> − 1).</summary>
    public long Positions { get; }

    /// <summary>The output layer's working memory: one chunk of logits (<see cref="NewLlmLoss.ChunkPositions"/> × vocabulary elements) and the output layer's gradients formed with the loss and their scaled copy.</summary>
    public long LogitsBytes { get; }

    /// <summary>What is kept and computed per position besides the logits (hidden states, gates, contexts, embedding share, gradients, token ids) and the backward's per-thread sums.</summary>
    public long ActivationBytes { get; }

    /// <summary>The parameters, their gradients and Adam's two moments.</summary>
    public long ParameterBytes { get; }

    /// <summary>The whole step.</summary>
    public long TotalBytes { get; }

    /// <summary>The largest per-position buffer ([batch, positions, max(H, 3C)]), which the CPU kernels address as one span of at most <see cref="int.MaxValue"/> bytes.</summary>
    public long LargestBufferBytes { get; }

    /// <summary>The estimate of one training step.</summary>
    /// <param name="model">The model's sizes.</param>
    /// <param name="batchSize">Sequences per batch (<see cref="TrainerOptions.BatchSize"/>, or fewer when the corpus is smaller).</param>
    /// <param name="sequenceLength">Tokens per sequence (<c>TokenizedCorpusOptions.MaxSequenceLength</c>), at least 2.</param>
    /// <param name="dtype">The parameters' element type (default float32).</param>
    /// <param name="precision">The step's arithmetic: <see cref="TrainingPrecision.BFloat16Mixed"/> adds the loss's bfloat16 buffers (the output weight's copy, the chunk's product and a block of the weight gradient's product, (V·H + k·V + 256 Ki)·2 bytes).</param>
#pragma warning disable RS0027 // The baseline's overload has as many parameters (none optional); New-LLM's keeps its defaults.
    public static TrainingMemoryEstimate ForStep(NewLlmOptions model, int batchSize, int sequenceLength, ScalarType dtype = ScalarType.Float32, TrainingPrecision precision = TrainingPrecision.Float32)
#pragma warning restore RS0027
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 2);
        return new TrainingMemoryEstimate(model.Clone().Validate(), batchSize, sequenceLength, dtype, precision);
    }

    /// <summary>
    /// The estimate of one training step of a <see cref="TransformerBaselineModel"/> with <paramref name="model"/>'s sizes:
    /// computed from its shapes (the activations its backward keeps per position and block, the attention weights
    /// [batch, heads, T, T] per block, one loss chunk's logits, the parameters with their gradients and Adam's moments),
    /// not fitted to measurements as New-LLM's is.
    /// </summary>
    /// <param name="model">The baseline's sizes.</param>
    /// <param name="batchSize">Sequences per batch.</param>
    /// <param name="sequenceLength">Tokens per sequence, at least 2.</param>
    /// <param name="dtype">The parameters' element type.</param>
    /// <param name="precision">The step's arithmetic.</param>
    public static TrainingMemoryEstimate ForStep(TransformerBaselineOptions model, int batchSize, int sequenceLength, ScalarType dtype, TrainingPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 2);
        return new TrainingMemoryEstimate(model.Clone().Validate(), batchSize, sequenceLength, dtype, precision);
    }

    /// <summary>The estimate of one training step of <paramref name="model"/> (either architecture), in its parameters' dtype.</summary>
    /// <param name="model">The model.</param>
    /// <param name="batchSize">Sequences per batch.</param>
    /// <param name="sequenceLength">Tokens per sequence, at least 2.</param>
    /// <param name="precision">The step's arithmetic.</param>
    public static TrainingMemoryEstimate ForStep(LanguageModel model, int batchSize, int sequenceLength, TrainingPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(model);
        ScalarType dtype = model.parameters().First().dtype;
        return model switch
        {
            NewLlmModel newLlm => ForStep(newLlm.Options, batchSize, sequenceLength, dtype, precision),
            TransformerBaselineModel baseline => ForStep(baseline.Options, batchSize, sequenceLength, dtype, precision),
            _ => throw new ArgumentException($"No memory estimate for a {model.ModelType} model.", nameof(model)),
        };
    }

    /// <summary>
    /// The memory free for a step on <paramref name="device"/>, or null when it cannot be known. CPU: the smaller of
    /// <c>MemAvailable</c> in <c>/proc/meminfo</c> (Linux) and the GC's limit (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>,
    /// which follows a container's limit) less this process's working set. CUDA: null, TorchSharp 0.107 has no query
    /// for a device's free memory.
    /// </summary>
    /// <param name="device">"cpu", "cuda" or "cuda:N".</param>
    public static long? GetAvailableBytes(string device)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(device);
        if (!device.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - Environment.WorkingSet;
        return MemAvailable() is long available ? Math.Min(available, limit) : limit;
    }

    /// <summary>The largest batch size, up to <see cref="BatchSize"/>, whose step fits in <paramref name="availableBytes"/> (and within the CPU kernels' span limit); 0 when none does.</summary>
    /// <param name="availableBytes">The memory free for the step.</param>
    /// <param name="cpuKernels">Whether the CPU kernels' span limit applies (float32 on the CPU).</param>
    public int LargestBatchSize(long availableBytes, bool cpuKernels = true)
    {
        int low = 0, high = BatchSize;
        while (low < high)
        {
            int mid = low + ((high - low + 1) / 2);
            var candidate = new TrainingMemoryEstimate(_model, mid, SequenceLength, _dtype, _precision);
            bool fits = candidate.TotalBytes <= availableBytes && (!cpuKernels || candidate.LargestBufferBytes <= SpanLimit) && candidate.Positions <= int.MaxValue;
            (low, high) = fits ? (mid, high) : (low, mid - 1);
        }

        return low;
    }

    /// <summary>
    /// Null when the step fits on <paramref name="device"/>, otherwise one line saying why (in the API's terms:
    /// <see cref="TrainerOptions.BatchSize"/>, the sequence length) and the largest batch size that fits.
    /// </summary>
    /// <param name="device">"cpu", "cuda" or "cuda:N"; the span limit applies to float32 on the CPU.</param>
    /// <param name="availableBytes">The memory free for the step; <see cref="GetAvailableBytes"/> when null (and no memory check when that is unknown).</param>
    public string? CheckFits(string device, long? availableBytes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(device);
        bool cpu = device.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase);
        bool cpuKernels = cpu && _dtype == ScalarType.Float32;
        long? available = availableBytes ?? GetAvailableBytes(device);
        string step = string.Create(CultureInfo.InvariantCulture, $"A training step of batch size {BatchSize} (TrainerOptions.BatchSize) × {SequenceLength} tokens (the corpus sequence length, TokenizedCorpusOptions.MaxSequenceLength)");
        string Fit(long memory)
        {
            int fits = LargestBatchSize(memory, cpuKernels);
            return fits > 0
                ? string.Create(CultureInfo.InvariantCulture, $"the largest batch size that fits is {fits}: set TrainerOptions.BatchSize to at most {fits}, or shorten the sequences.")
                : "no batch size fits: shorten the sequences, or use a smaller model.";
        }

        if (Positions > int.MaxValue || (cpuKernels && LargestBufferBytes > SpanLimit))
        {
            return $"{step} needs per-position buffers of {FormatBytes(LargestBufferBytes)}, more than the {FormatBytes(SpanLimit)} (int.MaxValue bytes) one buffer of the CPU kernels can address; {Fit(available ?? long.MaxValue)}";
        }

        if (available is long memory && TotalBytes > memory)
        {
            return $"{step} needs about {FormatBytes(TotalBytes)} ({Breakdown}), but {FormatBytes(Math.Max(0, memory))} is available on {device}; {Fit(memory)}";
        }

        return null;
    }

    /// <summary>The total and its parts, e.g. <c>52.3 GB: logits and their gradients 52.1 GB, activations 180.2 MB, parameters with gradients and Adam's state 23.0 MB</c>.</summary>
    public override string ToString() => $"{FormatBytes(TotalBytes)}: {Breakdown}";

    private string Breakdown =>
        $"logits and their gradients {FormatBytes(LogitsBytes)}, activations {FormatBytes(ActivationBytes)}, parameters with gradients and Adam's state {FormatBytes(ParameterBytes)}";

    /// <summary>Bytes for people: <c>512 B</c>, <c>23.0 MB</c>, <c>52.3 GB</c> (powers of 1024).</summary>
    /// <param name="bytes">The size.</param>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B") : string.Create(CultureInfo.InvariantCulture, $"{value:F1} {units[unit]}");
    }

    private static long Saturate(double bytes) => bytes >= long.MaxValue ? long.MaxValue : (long)bytes;

    private static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        _ => 4,
    };

    private static long? MemAvailable()
    {
        try
        {
            string? line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
