using NewLlm.Training;

namespace CustomCallback;

/// <summary>Stops training as soon as validation perplexity is at or below a target.</summary>
public sealed class StopAtPerplexity(double target) : ITrainerCallback
{
    public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics)
    {
        Console.WriteLine($"  [StopAtPerplexity] PPL {metrics.Perplexity:F1}, {metrics.BitsPerByte:F3} bits/byte (target {target})");
        if (metrics.Perplexity <= target)
        {
            context.Control.RequestStop($"validation perplexity {metrics.Perplexity:F1} reached the target {target}");
        }
    }
}
