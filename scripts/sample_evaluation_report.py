#!/usr/bin/env python3
"""Write a sample evaluation report to docs/evaluation-sample/ without an AWS account.

moto's server (127.0.0.1) plays SageMaker's control plane, the stub runtime scores the two
churn models of ``generate_churn_data.py``, and the real evaluation code does the rest.

    python scripts/sample_evaluation_report.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from evaluate.aws_io import variant_lister, write_reports_local  # noqa: E402
from evaluate.runner import evaluate, parse_request  # noqa: E402
from evaluate.scoring import RUNTIME_RETRY_CONFIG  # noqa: E402
from scripts.evaluation_figures import draw_figures  # noqa: E402
from scripts.generate_churn_data import generate, to_csv  # noqa: E402
from scripts.stub_sagemaker_runtime import StubRuntime  # noqa: E402

ENDPOINT = "churn-ab"
KEYS = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}


def main() -> int:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        sagemaker = boto3.client("sagemaker", endpoint_url=f"http://{host}:{port}", **KEYS)
        role = "arn:aws:iam::123456789012:role/local"
        image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3"
        for variant in ("Variant1", "Variant2"):
            sagemaker.create_model(
                ModelName=variant.lower(),
                ExecutionRoleArn=role,
                PrimaryContainer={"Image": image, "ModelDataUrl": f"s3://models/{variant}.tar.gz"},
            )
        sagemaker.create_endpoint_config(
            EndpointConfigName="local",
            ProductionVariants=[
                {
                    "VariantName": v,
                    "ModelName": v.lower(),
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "InitialVariantWeight": 1,
                }
                for v in ("Variant1", "Variant2")
            ],
        )
        sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="local")
        data = to_csv(generate(2000, seed=7))
        with StubRuntime(ENDPOINT) as stub:
            runtime = boto3.client("sagemaker-runtime", endpoint_url=stub.url, config=RUNTIME_RETRY_CONFIG, **KEYS)
            report = evaluate(
                parse_request({"data_uri": "generated:churn-2000-seed-7.csv"}, ENDPOINT),
                read_text=lambda _: data,
                describe_variants=variant_lister(sagemaker),
                runtime=runtime,
            )
        report["seconds"] = 0.0  # keep the committed sample stable
        locations = write_reports_local(
            report, ROOT / "docs" / "evaluation-sample", "sample", draw_figures=draw_figures
        )
        print(locations["markdown"])
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
