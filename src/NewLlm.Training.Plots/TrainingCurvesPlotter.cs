using ScottPlot;

namespace NewLlm.Training;

/// <summary>
/// Draws <c>{name}_curves.png</c> (<see cref="RunDirectory.CurvesPng"/>) after every epoch with ScottPlot: loss (left)
/// and perplexity (right) against epoch, for training and validation. The trainer does not add it: pass it among the
/// callbacks; it writes whenever <see cref="TrainerOptions.OutputDirectory"/> is set, and a resumed run redraws the
/// whole history.
/// </summary>
public sealed class TrainingCurvesPlotter : ITrainerCallback
{
    /// <summary>Image width in pixels (default 1200).</summary>
    public int Width { get; init; } = 1200;

    /// <summary>Image height in pixels (default 500).</summary>
    public int Height { get; init; } = 500;

    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record)
    {
        if (context.Options.OutputDirectory is null)
        {
            return;
        }

        byte[] png = Render(context.State.History, context.Options.ModelName, Width, Height);
        AtomicFile.Write(RunDirectory.CurvesPng(context.Options), stream => stream.Write(png));
    }

    /// <summary>Renders the curves of a history as PNG bytes.</summary>
    /// <param name="history">The epochs.</param>
    /// <param name="title">Title prefix.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] Render(IReadOnlyList<EpochRecord> history, string title, int width = 1200, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(history);
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Plot loss = multiplot.GetPlot(0);
        Plot ppl = multiplot.GetPlot(1);
        double[] epochs = history.Select(r => (double)r.Epoch).ToArray();
        AddSeries(loss, epochs, history.Select(r => r.TrainLoss), "train", Colors.C0);
        AddSeries(ppl, epochs, history.Select(r => r.TrainPerplexity), "train", Colors.C0);
        EpochRecord[] validated = history.Where(r => r.Validation is not null).ToArray();
        double[] validatedEpochs = validated.Select(r => (double)r.Epoch).ToArray();
        AddSeries(loss, validatedEpochs, validated.Select(r => r.Validation!.Loss), "validation", Colors.C1);
        AddSeries(ppl, validatedEpochs, validated.Select(r => r.Validation!.Perplexity), "validation", Colors.C1);
        foreach ((Plot plot, string name, string yLabel) in new[] { (loss, "loss", "cross-entropy (nats/token)"), (ppl, "perplexity", "perplexity") })
        {
            plot.Title($"{title}: {name}");
            plot.XLabel("epoch");
            plot.YLabel(yLabel);
            plot.ShowLegend(Alignment.UpperRight);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        }

        using Image image = multiplot.Render(width, height);
        return image.GetImageBytes(ImageFormat.Png);
    }

    private static void AddSeries(Plot plot, double[] xs, IEnumerable<double> values, string label, Color color)
    {
        double[] ys = values.ToArray();
        if (xs.Length == 0)
        {
            return;
        }

        var scatter = plot.Add.Scatter(xs, ys, color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = 6;
    }
}
