using System.Globalization;

namespace NewLlm.Benchmarks;

/// <summary>Command-line settings of the benchmark.</summary>
internal sealed record BenchmarkSettings
{
    /// <summary>Batch sizes to measure (each with every layer count).</summary>
    public List<int> Batches { get; } = new();

    /// <summary>Layer counts to measure.</summary>
    public List<int> Layers { get; } = new();

    /// <summary>Sequence length including the shifted target (T-1 positions are trained).</summary>
    public int Seq { get; set; } = 128;

    /// <summary>Width of the context vector.</summary>
    public int Context { get; set; } = 256;

    /// <summary>The memory mode (<c>--memory</c>): (layers, context, seq, batch) configurations whose measured peak is printed beside the trainer's estimate.</summary>
    public List<(int Layers, int Context, int Seq, int Batch)> MemoryConfigs { get; } = new();

    /// <summary>Whether the memory mode runs instead of the implementations' comparison.</summary>
    public bool Memory { get; set; }

    /// <summary>Vocabulary size.</summary>
    public int Vocab { get; set; } = 1000;

    /// <summary>Timed steps after one warm-up step.</summary>
    public int Steps { get; set; } = 3;

    /// <summary>Intra-op threads of libtorch.</summary>
    public int Threads { get; set; } = 2;

    /// <summary>Dropout of the model (training mode).</summary>
    public double Dropout { get; set; } = 0.1;

    /// <summary>Whether the PyTorch reference is skipped.</summary>
    public bool SkipReference { get; set; }

    /// <summary>Whether the direct port is skipped.</summary>
    public bool SkipDirect { get; set; }

    /// <summary>How many times each configuration is repeated (the median is reported too).</summary>
    public int Repeats { get; set; } = 1;

    /// <summary>Whether the library's forward with the whole logits and <c>F.cross_entropy</c> (the path before the chunked loss) is skipped.</summary>
    public bool SkipFullLogits { get; set; }

    /// <summary>Whether the library's bfloat16 mixed-precision step is skipped.</summary>
    public bool SkipBFloat16 { get; set; }

    /// <summary>Set in a child process: the one implementation it measures (see <see cref="Implementations"/>).</summary>
    public string? Child { get; set; }

    /// <summary>Whether the bfloat16 step runs even where the CPU (or an ISA limit) has no native bfloat16 products, to measure how slow it is there.</summary>
    public bool AllowSlowBFloat16 { get; set; }

    /// <summary>Whether the GEMM peak (<see cref="GemmPeak"/>) is not measured (then no share of peak is reported).</summary>
    public bool SkipPeak { get; set; }

    /// <summary>Whether the generation mode (<see cref="GenerationBenchmark"/>) runs instead of the implementations' comparison.</summary>
    public bool Generation { get; set; }

    /// <summary>The generation mode's sequence lengths for memory (<c>--length</c>, repeatable; default 128, 1,024 and 8,192); in a child, its one length.</summary>
    public List<int> GenerationLengths { get; } = new();

    /// <summary>Positions generated for the tokens-per-second figures (<c>--tokens</c>, default 128).</summary>
    public int GenerationTokens { get; set; } = 128;

    /// <summary>In a generation child, how many times the generation is timed (<c>--rounds</c>, default 1).</summary>
    public int GenerationRounds { get; set; } = 1;

    /// <summary>In a generation child, the model: <c>newllm</c> or <c>transformer</c>.</summary>
    public string GenerationModel { get; set; } = "newllm";

    /// <summary>
    /// The baseline's embedding width, FFN width, layers and heads (<c>--baseline E,H,L,HEADS</c>). The default 256,1184,1,4
    /// (New-LLM's embedding width, one block) has 1,418,120 parameters at 128 positions and vocabulary 1,000, 99.4% of the
    /// default 1-layer New-LLM's 1,426,152.
    /// </summary>
    public (int Embed, int Hidden, int Layers, int Heads) BaselineDims { get; set; } = (256, 1184, 1, 4);

    /// <summary><see cref="BaselineDims"/> as the option writes it.</summary>
    public string BaselineText => string.Create(CultureInfo.InvariantCulture, $"{BaselineDims.Embed},{BaselineDims.Hidden},{BaselineDims.Layers},{BaselineDims.Heads}");

    /// <summary>The implementations measured in child processes, in order.</summary>
    public static readonly string[] Implementations = ["newllm-torchsharp", "newllm-bf16", "newllm-full-logits", "direct-port-torchsharp"];

    /// <summary>The other work of a child process: the GEMM peak at a configuration's shapes, and the kernel probe (<see cref="MachineDescription.Probe"/>).</summary>
    public static readonly string[] OtherChildren = ["gemm-peak", "probe", GenerationBenchmark.ChildName];

    public const string Usage =
        "Usage: NewLlm.Benchmarks [--batch N]... [--layers L]... [--seq T] [--context C] [--vocab V] [--steps N] [--threads N] [--dropout P] [--repeats N] [--skip-reference] [--skip-direct] [--skip-full-logits] [--skip-bf16] [--allow-slow-bf16] [--skip-peak]\n" +
        "       NewLlm.Benchmarks --memory [--config LAYERS,CONTEXT,SEQ,BATCH]... [--vocab V] [--steps N] [--threads N]\n" +
        "       NewLlm.Benchmarks --generation [--batch N]... [--length T]... [--tokens N] [--layers L] [--context C] [--vocab V] [--seq T] [--baseline EMBED,HIDDEN,LAYERS,HEADS] [--threads N (default 1 here)]\n" +
        "Defaults: --batch 256 --layers 1 --layers 4 --seq 128 --vocab 1000 --steps 3 --threads 2 --dropout 0.1 --repeats 1";

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with the usage on a bad one.</summary>
    public static BenchmarkSettings Parse(string[] args)
    {
        var s = new BenchmarkSettings();
        bool threadsGiven = false;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Next()
            {
                if (i + 1 >= args.Length)
                {
                    throw new ArgumentException($"Option {name} needs a value.\n{Usage}");
                }

                return args[++i];
            }

            int NextInt() => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v
                : throw new ArgumentException($"Option {name} needs a positive integer.\n{Usage}");

            switch (name)
            {
                case "--batch": s.Batches.Add(NextInt()); break;
                case "--layers": s.Layers.Add(NextInt()); break;
                case "--seq": s.Seq = NextInt(); break;
                case "--context": s.Context = NextInt(); break;
                case "--memory": s.Memory = true; break;
                case "--generation": s.Generation = true; break;
                case "--length": s.GenerationLengths.Add(NextInt()); break;
                case "--tokens": s.GenerationTokens = NextInt(); break;
                case "--rounds": s.GenerationRounds = NextInt(); break;
                case "--model":
                    string model = Next();
                    s.GenerationModel = model is "newllm" or "transformer" ? model : throw new ArgumentException($"--model takes newllm or transformer, not '{model}'.\n{Usage}");
                    break;
                case "--baseline":
                    string dims = Next();
                    int[] values = dims.Split(',').Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : 0).ToArray();
                    s.BaselineDims = values.Length == 4 && values.All(v => v > 0) && values[0] % values[3] == 0
                        ? (values[0], values[1], values[2], values[3])
                        : throw new ArgumentException($"--baseline takes four positive integers EMBED,HIDDEN,LAYERS,HEADS with EMBED a multiple of HEADS, for example 256,1184,1,4; not '{dims}'.\n{Usage}");
                    break;
                case "--config":
                    string text = Next();
                    int[] parts = text.Split(',').Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : 0).ToArray();
                    s.MemoryConfigs.Add(parts.Length == 4 && parts.All(v => v > 0) && parts[2] >= 2
                        ? (parts[0], parts[1], parts[2], parts[3])
                        : throw new ArgumentException($"--config takes four positive integers LAYERS,CONTEXT,SEQ,BATCH (SEQ at least 2), for example 8,512,256,32; not '{text}'.\n{Usage}"));
                    break;
                case "--vocab": s.Vocab = NextInt(); break;
                case "--steps": s.Steps = NextInt(); break;
                case "--threads": s.Threads = NextInt(); threadsGiven = true; break;
                case "--repeats": s.Repeats = NextInt(); break;
                case "--dropout":
                    s.Dropout = double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p >= 0 && p < 1
                        ? p
                        : throw new ArgumentException($"Option --dropout needs a value in [0, 1).\n{Usage}");
                    break;
                case "--skip-reference": s.SkipReference = true; break;
                case "--skip-direct": s.SkipDirect = true; break;
                case "--skip-full-logits": s.SkipFullLogits = true; break;
                case "--skip-bf16": s.SkipBFloat16 = true; break;
                case "--skip-peak": s.SkipPeak = true; break;
                case "--allow-slow-bf16": s.AllowSlowBFloat16 = true; break;
                case "--child":
                    s.Child = Next();
                    if (!Implementations.Contains(s.Child) && !OtherChildren.Contains(s.Child))
                    {
                        throw new ArgumentException($"--child takes one of {string.Join(", ", Implementations.Concat(OtherChildren))}, not '{s.Child}'.");
                    }

                    break;
                default: throw new ArgumentException($"Unknown option '{name}'.\n{Usage}");
            }
        }

        if (s.Batches.Count == 0)
        {
            s.Batches.AddRange(s.Generation ? [1, 16] : s.Child == GenerationBenchmark.ChildName ? [1] : [256]);
        }

        // One token's products are small: libtorch's OpenMP threads only add synchronisation there, and they spin
        // when the machine is busy (a shared 2-core machine ran 15-40 times slower with 2 threads than with 1).
        if ((s.Generation || s.Child == GenerationBenchmark.ChildName) && !threadsGiven)
        {
            s.Threads = 1;
        }

        if (s.GenerationLengths.Count == 0)
        {
            s.GenerationLengths.AddRange([128, 1024, 8192]);
        }

        if (s.Layers.Count == 0)
        {
            s.Layers.AddRange(s.Generation || s.Child == GenerationBenchmark.ChildName ? [1] : [1, 4]);
        }

        if (s.Memory && s.MemoryConfigs.Count == 0)
        {
            s.MemoryConfigs.AddRange([(8, 512, 256, 32), (12, 1024, 256, 32), (1, 256, 128, 256)]);
        }

        if (s.Seq < 2)
        {
            throw new ArgumentException("Option --seq must be at least 2 (one input and one target position).");
        }

        return s;
    }

    /// <summary>The arguments of a child process that measures <paramref name="implementation"/> at one batch size and layer count.</summary>
    public IEnumerable<string> ChildArguments(string implementation, int batch, int layers)
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        return ["--child", implementation, "--batch", I(batch), "--layers", I(layers), "--seq", I(Seq), "--context", I(Context), "--vocab", I(Vocab), "--steps", I(Steps), "--threads", I(Threads), "--dropout", Dropout.ToString("R", CultureInfo.InvariantCulture), .. (SkipBFloat16 ? new[] { "--skip-bf16" } : []), .. (AllowSlowBFloat16 ? new[] { "--allow-slow-bf16" } : [])];
    }
}
